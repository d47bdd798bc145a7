"""Admin: staff edit message templates (validated and audited) and see every message's delivery, failed ones
included. Phone numbers are masked and one-time codes never shown."""
from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from jiaoguan.core.admin import ReadOnlyAdmin
from jiaoguan.core.http import actor_of
from jiaoguan.core.masking import mask_phone
from jiaoguan.notifications import defaults
from jiaoguan.notifications.models import Message, MessageTemplate
from jiaoguan.notifications.services import TEMPLATE_EDITABLE, message_template_update


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ("code", "description", "subject_zh", "active", "updated_at")
    list_filter = ("active",)
    search_fields = ("code", "description", "subject_zh", "subject_en", "body_zh", "body_en")
    readonly_fields = ("code", "params", "secret_params", "updated_at")
    fields = ("code", "description", "params", "secret_params", "subject_zh", "body_zh", "subject_en", "body_en",
              "active", "updated_at")

    # Templates are what the code sends: the set is fixed by the code (defaults.py), their texts are data.
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in TEMPLATE_EDITABLE}
        message_template_update(template=obj, actor=actor_of(request),
                                changes=changes)


class _SecretAware:
    @staticmethod
    def _is_secret(message: Message) -> bool:
        row = MessageTemplate.objects.filter(code=message.template_code).first()
        if row is not None:
            return bool(row.secret_names)
        default = defaults.BY_CODE.get(message.template_code)
        return default is None or bool(default.secret)  # unknown: err on the side of not showing


@admin.register(Message)
class MessageAdmin(_SecretAware, ReadOnlyAdmin):
    list_display = ("id", "created_at", "template_code", "channel", "masked_phone", "recipient", "language",
                    "status", "attempts", "provider", "short_error")
    list_filter = ("status", "channel", "template_code", "language")
    date_hierarchy = "created_at"
    list_select_related = ("recipient",)
    search_fields = ("=id", "template_code", "provider_message_id")
    ordering = ("-created_at", "-id")
    fields = ("template_code", "channel", "language", "recipient", "masked_phone", "subject", "shown_body",
              "params", "status", "attempts", "next_attempt_at", "provider", "provider_message_id", "last_error",
              "created_at", "sent_at", "delivered_at", "failed_at", "read_at")
    readonly_fields = fields

    # read-only: the life cycle is the services' business; the admin only looks

    @admin.display(description="手机号 phone")
    def masked_phone(self, obj: Message) -> str:
        return mask_phone(obj.phone)

    @admin.display(description="正文 text")
    def shown_body(self, obj: Message) -> str:
        if self._is_secret(obj):
            return "（含验证码，不显示） (contains a one-time code: not shown)"
        return obj.body

    @admin.display(description="最近错误 last error")
    def short_error(self, obj: Message) -> str:
        if not obj.last_error:
            return ""
        text = obj.last_error if len(obj.last_error) <= 80 else obj.last_error[:79] + "…"
        return format_html('<span title="{}">{}</span>', obj.last_error, text)
