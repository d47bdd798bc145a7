"""The portal's forms: they only parse and check shape; the rules live in the identity services."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from jiaoguan.core.forms import CodeInput, TelInput
from jiaoguan.identity import rules as identity_rules
from jiaoguan.registry.selectors import plate_type_choices


def _phone_field() -> forms.CharField:
    return forms.CharField(
        label=_("手机号码"), max_length=20,
        widget=TelInput(attrs={"autocomplete": "tel", "inputmode": "tel", "placeholder": "13800000000"}),
    )


def _code_field(required: bool = True) -> forms.CharField:
    return forms.CharField(label=_("短信验证码"), max_length=8, required=required, widget=CodeInput())


def _password_field(label, autocomplete: str = "new-password") -> forms.CharField:
    return forms.CharField(label=label, max_length=128, strip=False,
                           widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}))


class _PasswordPair(forms.Form):
    first_password_field = "password"

    def clean(self):
        data = super().clean()
        first, second = data.get(self.first_password_field), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("两次输入的密码不一致"))
        return data


class PhoneForm(forms.Form):
    phone = _phone_field()


class RegisterForm(_PasswordPair):
    code = _code_field()
    name = forms.CharField(label=_("姓名"), max_length=40,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    id_number = forms.CharField(label=_("居民身份证号码"), max_length=24,
                                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    password = _password_field(_("设置密码"))
    password2 = _password_field(_("再次输入密码"))


class PasswordLoginForm(forms.Form):
    login = forms.CharField(label=_("手机号码"), max_length=64,
                            widget=forms.TextInput(attrs={"autocomplete": "username", "inputmode": "tel"}))
    password = _password_field(_("密码"), autocomplete="current-password")


class SmsLoginForm(forms.Form):
    phone = _phone_field()
    code = _code_field(required=False)  # not needed when the button pressed is "send the code"


class PasswordResetForm(_PasswordPair):
    first_password_field = "new_password"
    phone = _phone_field()
    code = _code_field(required=False)
    new_password = _password_field(_("新密码"), autocomplete="new-password")
    password2 = _password_field(_("再次输入新密码"))

    def __init__(self, *args, sending: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if sending:  # only the phone matters when asking for a code
            for name in ("new_password", "password2"):
                self.fields[name].required = False


# Binding someone else's vehicle is for non-commercial small cars only (DOMAIN §1): the plate types the identity
# rule accepts, labelled by the register.
def _plate_type_choices():
    return plate_type_choices(codes=identity_rules.BINDABLE_PLATE_TYPES)


class BindForm(forms.Form):
    plate = forms.CharField(label=_("号牌号码"), max_length=12,
                            widget=forms.TextInput(attrs={"placeholder": "粤B12345", "autocapitalize": "characters",
                                                          "spellcheck": "false", "autocomplete": "off"}))
    plate_type = forms.ChoiceField(label=_("号牌种类"), choices=_plate_type_choices, initial="02")  # 小型汽车
    vin_last4 = forms.CharField(label=_("车辆识别代号后4位"), min_length=4, max_length=4,
                                widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false",
                                                              "autocomplete": "off", "maxlength": "4"}))

    def clean_vin_last4(self):
        return self.cleaned_data["vin_last4"].strip().upper()


class CodeForm(forms.Form):
    code = _code_field()


class PhoneChangeForm(forms.Form):
    """Change the account's phone: the code goes to the new phone; the current password proves it is the holder.
    Two buttons, no JavaScript: "send" needs only the new phone."""

    new_phone = forms.CharField(
        label=_("新手机号码"), max_length=20,
        widget=TelInput(attrs={"autocomplete": "tel", "inputmode": "tel", "placeholder": "13800000000"}),
    )
    code = _code_field(required=False)
    password = _password_field(_("当前登录密码"), autocomplete="current-password")

    def __init__(self, *args, sending: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if sending:
            self.fields["password"].required = False


class PhoneFileChangeForm(PhoneChangeForm):
    """Change the phone on file online: as the account's phone change (code to the new number, current password),
    the change then cools off before it takes effect."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_phone"].label = _("新预留手机号码")


class ObjectionForm(forms.Form):
    """The objection code the old phone on file received by SMS (e.g. ABCDE-FGHJK); no login."""

    code = forms.CharField(label=_("撤销码"), max_length=20,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                                         "placeholder": "ABCDE-FGHJK", "spellcheck": "false"}))


class AddressChangeForm(forms.Form):
    """联系方式变更: the contact address on file; the current password proves it is the holder."""

    address = forms.CharField(label=_("新联系地址"), min_length=8, max_length=200,
                              widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}))
    password = _password_field(_("当前登录密码"), autocomplete="current-password")


# --- payments ------------------------------------------------------------------------------------------------------

class _ItemIdsField(forms.MultipleChoiceField):
    """Ids of payable items, as ticked on the page. Only the shape is checked here: whether each item is the
    payer's and still payable is the payments service's decision (so a repeated form reaches its replay)."""

    def valid_value(self, value) -> bool:
        value = str(value)
        return value.isdigit() and 0 < len(value) <= 12

    def clean(self, value):
        return sorted({int(v) for v in super().clean(value)})


class PayOrderForm(forms.Form):
    item_ids = _ItemIdsField(label=_("选择要缴纳的款项"), error_messages={
        "required": _("请选择要缴纳的款项"), "invalid_choice": _("所选款项无效，请刷新页面后重试")})
    idempotency_key = forms.CharField(widget=forms.HiddenInput, min_length=8, max_length=120)


class ReferenceLookupForm(forms.Form):
    reference = forms.CharField(
        label=_("缴款编号"), max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false",
                                      "placeholder": "4403 9100 0000 0000 00"}))
