"""One posted form of a console page: validate, call the service, put its refusal on the form.

# core candidate: ``core.forms.submit`` (portal pages repeat the same shape around ``form_error``).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms

from jiaoguan.core.errors import DomainError
from jiaoguan.core.forms import form_error


def submit(form: forms.Form, act: Callable[[dict], Any], *, rename: dict[str, str] | None = None) -> tuple[Any, int]:
    """``(act(form.cleaned_data), 200)`` for a valid form whose service call succeeds; ``(None, status)`` when the
    form is invalid (400) or the service refuses (the error is attached to the form; its 4xx status)."""
    if not form.is_valid():
        return None, 400
    try:
        return act(form.cleaned_data), 200
    except DomainError as exc:
        return None, form_error(form, exc, rename=rename)
