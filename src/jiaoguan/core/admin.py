"""Admin for the shared kernel's reference data (ARCHITECTURE §6: the admin is for reference data and
superusers; staff work happens in the console).

- Holiday overrides are edited here (years the chinese-calendar data does not cover, local decisions).
- The audit log and the outbox are shown read-only: nobody adds, changes or deletes an audit row or an event
  by hand (the audit table refuses it anyway); they are listed and filtered to investigate.
"""
from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html

from jiaoguan.core.models import AuditEntry, AuditTreeHead, HolidayOverride, OutboxEvent


@admin.register(HolidayOverride)
class HolidayOverrideAdmin(admin.ModelAdmin[HolidayOverride]):
    list_display = ("date", "weekday", "is_workday", "name")
    list_filter = ("is_workday",)
    search_fields = ("name",)
    date_hierarchy = "date"
    ordering = ("-date",)

    @admin.display(description="星期 Weekday")
    def weekday(self, obj: HolidayOverride) -> str:
        return "一二三四五六日"[obj.date.weekday()]


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Listing and inspection only: no add, change or delete, not even for superusers."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}  # no "delete selected"


def _pretty(value: object) -> str:
    if value is None:
        return "—"
    return format_html("<pre>{}</pre>", json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True))


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "at", "kind", "action", "actor_label", "actor_role", "object_type", "object_id",
                    "subject_person_id")
    list_filter = ("kind", "action", "actor_role", "object_type")
    search_fields = ("action", "actor_label", "object_id")
    date_hierarchy = "at"
    ordering = ("-id",)
    fields = ("id", "at", "kind", "action", "actor_id", "actor_label", "actor_role", "ip", "object_type",
              "object_id", "subject_person_id", "old_pretty", "new_pretty", "reason", "digest", "prev_hash", "hash")
    readonly_fields = fields

    @admin.display(description="原值 old")
    def old_pretty(self, obj: AuditEntry) -> str:
        return _pretty(obj.old)

    @admin.display(description="新值 new")
    def new_pretty(self, obj: AuditEntry) -> str:
        return _pretty(obj.new)


@admin.register(AuditTreeHead)
class AuditTreeHeadAdmin(ReadOnlyAdmin):
    list_display = ("tree_size", "timestamp", "root_hash", "key_id")
    ordering = ("-tree_size",)


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "topic", "handler", "status", "attempts", "created_at", "next_attempt_at",
                    "delivered_at", "short_error")
    list_filter = ("status", "topic")
    search_fields = ("topic", "handler", "last_error")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    fields = ("id", "topic", "handler", "status", "attempts", "created_at", "next_attempt_at", "delivered_at",
              "payload_pretty", "last_error")
    readonly_fields = fields

    @admin.display(description="载荷 payload")
    def payload_pretty(self, obj: OutboxEvent) -> str:
        return _pretty(obj.payload)

    @admin.display(description="最近错误 last error")
    def short_error(self, obj: OutboxEvent) -> str:
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error
