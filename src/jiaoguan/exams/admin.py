"""Reference views of driving-test booking for superusers (staff work in the console, not here)."""
from django.contrib import admin

from jiaoguan.exams.models import Permit, Result, Session, Venue


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "subjects", "active")
    readonly_fields = ("code", "subjects", "created_at")


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("id", "venue", "subject", "starts_at", "seats")
    list_filter = ("subject", "venue")
    readonly_fields = ("venue", "subject", "slot", "starts_at", "seats", "created_at")


@admin.register(Permit)
class PermitAdmin(admin.ModelAdmin):
    list_display = ("number", "licence_class", "accepted_at", "valid_until", "status")
    list_filter = ("status", "licence_class")
    readonly_fields = ("person", "licence_class", "number", "accepted_at", "valid_until", "status", "issued_by",
                       "created_at")


@admin.register(Result)
class ResultAdmin(admin.ModelAdmin):
    list_display = ("permit", "subject", "outcome", "exam_at", "recorded_by")
    list_filter = ("subject", "outcome")
    readonly_fields = ("permit", "subject", "session", "booking_id", "outcome", "exam_at", "recorded_at",
                       "recorded_by")
