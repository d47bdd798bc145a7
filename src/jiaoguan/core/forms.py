"""Glue between Django forms and domain errors, shared by the portal and the console (both import it from core).

A service raises a ``DomainError`` whose ``fields`` name the inputs it concerns; ``form_error`` puts each
message beside its field (or at the top of the form when the field is not on this form) in the request's
language, so a form re-renders with what the user typed and a message where the problem is.
"""
from __future__ import annotations

from typing import Any

from django import forms

from jiaoguan.core.errors import DomainError


def form_error(form: forms.Form, exc: DomainError, *, rename: dict[str, str] | None = None) -> int:
    """Attach ``exc`` to ``form``; return the HTTP status to answer with (the error's, a 4xx)."""
    rename = rename or {}
    placed = False
    for field, message in exc.field_messages().items():
        name = rename.get(field, field)
        if name in form.fields:
            _add(form, name, message)
            placed = True
    if not placed:
        _add(form, None, exc.message())
    return exc.status if 400 <= exc.status < 500 else 400


def _add(form: forms.Form, field: str | None, message: str) -> None:
    # add_error() requires cleaned_data, which exists only after validation; a form whose own checks passed has it.
    if not hasattr(form, "cleaned_data"):
        form.cleaned_data = {}
    if field is not None and field in form.errors and message in form.errors[field]:
        return
    form.add_error(field, message)


class TelInput(forms.TextInput):
    input_type = "tel"


class CodeInput(forms.TextInput):
    """A one-time SMS code: numeric keyboard on phones, filled in by the phone's SMS auto-fill."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        base = {"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*", "maxlength": "8"}
        super().__init__({**base, **(attrs or {})})
