"""console.submit: the one posted-form step of the console pages (eastern, inspections, plates)."""
from __future__ import annotations

from django import forms

from jiaoguan.console.submit import submit
from jiaoguan.core.errors import Conflict, InvalidInput


class _Form(forms.Form):
    name = forms.CharField(max_length=5)


def test_valid_form_returns_what_the_service_returns():
    assert submit(_Form({"name": "abc"}), lambda data: data["name"].upper()) == ("ABC", 200)


def test_invalid_form_is_400_and_the_service_is_not_called():
    called = []
    form = _Form({"name": "toolong"})
    assert submit(form, lambda data: called.append(data)) == (None, 400)
    assert not called and form.errors


def test_refusal_lands_on_the_form_with_its_status():
    def refuse(data):
        raise InvalidInput("x.bad", "名称不对", "Bad name", field="name")

    form = _Form({"name": "abc"})
    assert submit(form, refuse) == (None, 422)
    assert form.errors["name"] == ["名称不对"]

    def conflict(data):
        raise Conflict("x.taken", "已存在", "Exists", field="code")

    form = _Form({"name": "abc"})
    assert submit(form, conflict, rename={"code": "name"}) == (None, 409)
    assert form.errors["name"] == ["已存在"]
