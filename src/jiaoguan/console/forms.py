"""The console's forms: shape only; identity and registry services hold the rules."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from jiaoguan.core.forms import TelInput
from jiaoguan.identity.roles import STAFF_ROLES, Role


class StaffLoginForm(forms.Form):
    username = forms.CharField(label=_("用户名（警号）"), max_length=64,
                               widget=forms.TextInput(attrs={"autocomplete": "username", "spellcheck": "false",
                                                             "autocapitalize": "none"}))
    password = forms.CharField(label=_("密码"), max_length=128, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class PersonSearchForm(forms.Form):
    id_number = forms.CharField(label=_("居民身份证号码"), max_length=24, required=False,
                                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    plate = forms.CharField(label=_("号牌号码"), max_length=12, required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                                          "placeholder": "粤B12345", "autocapitalize": "characters"}))

    def clean(self):
        data = super().clean()
        if not (data.get("id_number") or "").strip() and not (data.get("plate") or "").strip():
            raise forms.ValidationError(_("请输入身份证号码或号牌号码"), code="empty")
        return data


class UnmaskForm(forms.Form):
    reason = forms.CharField(
        label=_("查看完整信息的原因"), min_length=4, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("如：窗口办理换证业务，核对身份"), "autocomplete": "off"}),
        error_messages={"required": _("请填写查看原因，它将记入审计日志"),
                        "min_length": _("原因至少4个字，请写明业务事由")},
    )


class AccessFilterForm(forms.Form):
    staff = forms.CharField(label=_("工作人员用户名"), max_length=64, required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    id_number = forms.CharField(label=_("被查询人身份证号码"), max_length=24, required=False,
                                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))


def _staff_role_choices():
    return [(r.value, r.label) for r in Role if r in STAFF_ROLES]


class StaffCreateForm(forms.Form):
    username = forms.CharField(label=_("用户名（警号）"), max_length=64,
                               widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                                             "autocapitalize": "none"}))
    display_name = forms.CharField(label=_("姓名"), max_length=60, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(label=_("角色"), choices=_staff_role_choices, initial=Role.CLERK)
    phone = forms.CharField(label=_("手机号码（选填）"), max_length=20, required=False,
                            widget=TelInput(attrs={"autocomplete": "off"}))
    password = forms.CharField(label=_("初始密码"), max_length=128, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("再次输入初始密码"), max_length=128, strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password2") and data["password"] != data["password2"]:
            self.add_error("password2", _("两次输入的密码不一致"))
        return data
