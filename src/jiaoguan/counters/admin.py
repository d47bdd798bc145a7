"""Reference data of counter appointments: offices and the service catalogue (slots are made in the console)."""
from django.contrib import admin

from jiaoguan.counters.models import CounterService, EnterpriseBatch, Office, OfficeService


@admin.register(Office)
class OfficeAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "opens", "closes", "active")
    search_fields = ("code", "name_zh", "name_en")


@admin.register(CounterService)
class CounterServiceAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "subject", "sort", "active")


@admin.register(OfficeService)
class OfficeServiceAdmin(admin.ModelAdmin):
    list_display = ("office", "service", "windows", "slot_minutes", "active")
    readonly_fields = ("resource",)


@admin.register(EnterpriseBatch)
class EnterpriseBatchAdmin(admin.ModelAdmin):
    list_display = ("reference", "enterprise", "items", "created_at")
    readonly_fields = ("enterprise", "user", "reference", "items", "booking_ids", "created_at")
