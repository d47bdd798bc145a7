"""Admin for the registry (ARCHITECTURE §6: reference data and superusers; staff work in the console).

The authoritative records (persons, licences, vehicles, policies) are browse-only here: they change through the
registry's services and the CSV import, which validate and audit every change. Personal fields are shown
masked, in lists and on the detail page, and opening a person's page writes an access-audit row. Searching by
ID number or phone goes through the keyed lookup hash (exact match). The inspection schedule is reference data
a city edits here.
"""
from __future__ import annotations

from django.contrib import admin

from jiaoguan.core.admin import ReadOnlyAdmin
from jiaoguan.core.audit import Actor, audit_access
from jiaoguan.core.fields import EncryptedField
from jiaoguan.core.masking import mask_address, mask_id_number, mask_name, mask_phone
from jiaoguan.registry.models import DrivingLicence, InspectionRule, InsurancePolicy, Person, Vehicle


BrowseOnlyAdmin = ReadOnlyAdmin  # listing and inspection only; changes go through registry services


def _person_ids_for(term: str) -> list[int]:
    """Persons whose ID number or phone is exactly ``term`` (via the lookup hashes)."""
    term = term.strip()
    if not term:
        return []
    hashes = {EncryptedField.hash_of(Person, "id_number", term), EncryptedField.hash_of(Person, "phone", term)}
    return list(Person.objects.filter(id_number_hash__in=hashes).values_list("pk", flat=True)) + list(
        Person.objects.filter(phone_hash__in=hashes).values_list("pk", flat=True))


@admin.register(Person)
class PersonAdmin(BrowseOnlyAdmin):
    list_display = ("id", "masked_name", "masked_id_number", "masked_phone", "gender", "birth_date", "created_at")
    list_filter = ("gender",)
    search_help_text = "按身份证号码或手机号码精确查找 Exact ID number or phone number"
    search_fields = ("id",)  # enables the box; get_search_results does the hashed lookup
    fields = ("id", "masked_name", "masked_id_number", "masked_phone", "masked_address", "gender", "birth_date",
              "created_at", "updated_at")
    readonly_fields = fields
    ordering = ("-id",)

    @admin.display(description="姓名 Name")
    def masked_name(self, obj: Person) -> str:
        return mask_name(obj.name)

    @admin.display(description="身份证号码 ID number")
    def masked_id_number(self, obj: Person) -> str:
        return mask_id_number(obj.id_number)

    @admin.display(description="手机号码 Phone")
    def masked_phone(self, obj: Person) -> str:
        return mask_phone(obj.phone)

    @admin.display(description="住址 Address")
    def masked_address(self, obj: Person) -> str:
        return mask_address(obj.address)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(pk__in=_person_ids_for(search_term)), False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200 and str(object_id).isdigit():
            audit_access(actor=Actor.of(request.user, ip=request.META.get("REMOTE_ADDR", "")), action="person.view",
                         subject_person_id=int(object_id), reason="admin")
        return response


@admin.register(DrivingLicence)
class DrivingLicenceAdmin(BrowseOnlyAdmin):
    list_display = ("file_number", "holder", "classes", "status", "validity", "valid_until", "cycle_points",
                    "probation_until")
    list_filter = ("status", "validity")
    search_fields = ("file_number",)
    search_help_text = "档案编号，或持证人身份证号码 File number, or the holder's ID number"
    list_select_related = ("person",)
    exclude = ("person",)
    readonly_fields = ("holder", "file_number", "classes", "first_issue_date", "valid_from", "valid_until",
                       "validity", "status", "status_reason", "probation_until", "cycle_points", "points_cycle_start",
                       "issuing_office", "created_at", "updated_at")
    ordering = ("-id",)

    @admin.display(description="持证人 Holder")
    def holder(self, obj: DrivingLicence) -> str:
        return f"{mask_name(obj.person.name)} {mask_id_number(obj.person.id_number)}"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(file_number=term) | queryset.filter(person_id__in=_person_ids_for(term)), False


class PolicyInline(admin.TabularInline):
    model = InsurancePolicy
    fields = ("policy_number", "kind", "insurer", "starts_on", "ends_on")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Vehicle)
class VehicleAdmin(BrowseOnlyAdmin):
    list_display = ("plate", "plate_type", "owner_masked", "brand", "kind", "use", "registration_date",
                    "inspection_due", "status")
    list_filter = ("plate_type", "kind", "use", "status")
    search_fields = ("=plate", "=vin", "=owner_uscc")
    list_select_related = ("owner",)
    exclude = ("owner",)
    readonly_fields = ("owner_masked", "plate", "plate_type", "vin", "owner_company", "owner_uscc", "brand", "kind",
                       "use", "seats", "registration_date", "last_change_date", "last_inspection_date",
                       "inspection_due", "status", "created_at", "updated_at")
    inlines = (PolicyInline,)
    ordering = ("-id",)

    @admin.display(description="所有人 Owner")
    def owner_masked(self, obj: Vehicle) -> str:
        if obj.owner_id is None:
            return obj.owner_company
        return f"{mask_name(obj.owner.name)} {mask_id_number(obj.owner.id_number)}"


@admin.register(InsurancePolicy)
class InsurancePolicyAdmin(BrowseOnlyAdmin):
    list_display = ("policy_number", "vehicle", "kind", "insurer", "starts_on", "ends_on")
    list_filter = ("kind", "insurer")
    search_fields = ("=policy_number", "=vehicle__plate", "=vehicle__vin")
    list_select_related = ("vehicle",)
    readonly_fields = ("policy_number", "vehicle", "kind", "insurer", "starts_on", "ends_on", "created_at")
    ordering = ("-id",)


@admin.register(InspectionRule)
class InspectionRuleAdmin(admin.ModelAdmin):
    list_display = ("kind", "use", "from_year", "to_year", "interval_months", "on_site", "note")
    list_filter = ("kind", "on_site")
    ordering = ("kind", "use", "from_year")
