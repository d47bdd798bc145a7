import re

from django import forms
from django.contrib import admin

from jiaoguan.core.errors import InvalidInput
from jiaoguan.violations import rules, signing
from jiaoguan.violations.models import (
    Detention,
    Device,
    Dispute,
    PenaltyDecision,
    Violation,
    ViolationCode,
)


@admin.register(ViolationCode)
class ViolationCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "description_zh", "points", "fine_fen", "online_allowed", "first_violation_list", "active")
    list_filter = ("points", "online_allowed", "first_violation_list", "active")
    search_fields = ("code", "description_zh", "description_en")


class DeviceForm(forms.ModelForm):
    """The device's scope as staff edit it: endpoints and codes as comma-separated lists, checked by
    ``signing.scope_clean`` (the one definition of a valid scope)."""

    endpoints = forms.CharField(label="可用接口 endpoints", required=False,
                                help_text="、".join(f"{k}（{zh}）" for k, (zh, _en) in rules.ENDPOINTS.items()))
    codes = forms.CharField(label="可上传的违法代码 codes", required=False, widget=forms.Textarea(attrs={"rows": 2}),
                            help_text="逗号分隔 comma-separated; 空 = 不能上传任何违法 empty = none")

    class Meta:
        model = Device
        fields = ("name", "place", "active", "kind", "endpoints", "codes", "area")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["endpoints"] = ", ".join(self.instance.endpoints or [])
            self.initial["codes"] = ", ".join(self.instance.codes or [])

    def clean(self):
        data = super().clean()
        split = lambda text: [p for p in re.split(r"[\s,，、;；]+", text or "") if p]  # noqa: E731
        try:
            data["endpoints"], data["codes"], data["area"] = signing.scope_clean(
                endpoints=split(data.get("endpoints")), codes=split(data.get("codes")), area=data.get("area") or "")
        except InvalidInput as exc:
            raise forms.ValidationError(f"{exc.zh} {exc.en}") from None
        return data


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    form = DeviceForm
    list_display = ("name", "key_id", "kind", "area", "scope_codes", "scope_endpoints", "place", "active",
                    "created_at")
    list_filter = ("kind", "active")
    readonly_fields = ("key_id", "created_at")

    @admin.display(description="违法代码 codes")
    def scope_codes(self, obj):
        return ", ".join(obj.codes or []) or "—"

    @admin.display(description="接口 endpoints")
    def scope_endpoints(self, obj):
        return ", ".join(obj.endpoints or []) or "—"

    def has_add_permission(self, request):  # devices are created with signing.device_create (secret shown once)
        return False


@admin.register(Violation)
class ViolationAdmin(admin.ModelAdmin):
    list_display = ("plate", "code", "occurred_at", "source", "status")
    list_filter = ("status", "source")
    search_fields = ("plate", "device_record_id")
    readonly_fields = [f.name for f in Violation._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(PenaltyDecision)
class PenaltyDecisionAdmin(admin.ModelAdmin):
    list_display = ("number", "violation", "points", "fine_fen", "decision_date", "channel")
    readonly_fields = [f.name for f in PenaltyDecision._meta.fields]


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "status", "submitted_at")
    list_filter = ("kind", "status")


@admin.register(Detention)
class DetentionAdmin(admin.ModelAdmin):
    """Read only: detentions are recorded, released and cancelled through the services (audited)."""

    list_display = ("notice_number", "kind", "status", "detained_at", "held_at_name")
    list_filter = ("kind", "status")
    search_fields = ("notice_number",)
    readonly_fields = [f.name for f in Detention._meta.fields]

    def has_add_permission(self, request):
        return False
