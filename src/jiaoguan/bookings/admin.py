from django.contrib import admin

from jiaoguan.bookings.models import PenaltyRule, Resource


@admin.register(PenaltyRule)
class PenaltyRuleAdmin(admin.ModelAdmin):
    list_display = ("kind", "event", "threshold", "window", "window_days", "ban", "ban_days", "active")
    list_filter = ("kind", "event", "active")


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ("code", "kind", "name_zh", "policy", "hold_minutes", "waitlist_offer_minutes", "active")
    list_filter = ("kind", "policy", "active")
    readonly_fields = ("created_at",)
