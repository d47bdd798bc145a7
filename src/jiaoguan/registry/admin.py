"""Admin for the registry (ARCHITECTURE §6: reference data and superusers; staff work in the console).

The authoritative records (persons, licences, vehicles, policies) are browse-only here: they change through the
registry's services and the CSV import, which validate and audit every change. Personal fields are shown
masked, in lists and on the detail page, and opening a person's page writes an access-audit row. Searching by
ID number or phone goes through the keyed lookup hash (exact match). The inspection schedule is reference data
a city edits here. Partners (hospitals…) are managed here too; their health checks are browse-only.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from jiaoguan.core.admin import ReadOnlyAdmin
from jiaoguan.core.audit import Actor, audit_access
from jiaoguan.core.errors import DomainError
from jiaoguan.core.fields import EncryptedField
from jiaoguan.core.http import actor_of
from jiaoguan.core.masking import mask_address, mask_id_number, mask_name, mask_phone
from jiaoguan.registry import partners as partner_services
from jiaoguan.registry.models import (
    DrivingLicence,
    HealthCheck,
    InspectionRule,
    InsurancePolicy,
    Partner,
    Person,
    Vehicle,
)

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
                       "imported_points", "imported_points_cycle_start", "issuing_office", "created_at", "updated_at")
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


# --- partners and their health checks -----------------------------------------------------------------------------
# Partners are reference data staff manage here: adding one generates its key id and secret (the secret is shown
# once, in the confirmation message), edits go through registry.partners (validated and audited), "rotate secret"
# issues a new one. Partners are never deleted (their records point at them): deactivate instead.


class PartnerForm(forms.ModelForm):
    class Meta:
        model = Partner
        fields = ("kind", "name_zh", "name_en", "institution_code", "active")

    def clean(self):
        data = super().clean()
        kind = data.get("kind") or getattr(self.instance, "kind", "")
        try:
            cleaned = partner_services.partner_values_clean(
                kind=kind, name_zh=data.get("name_zh", ""), name_en=data.get("name_en", ""),
                institution_code=data.get("institution_code", ""))
        except DomainError as exc:
            for name, (zh, en) in exc.fields.items():
                self.add_error(name if name in self.fields else None, f"{zh} {en}")
            return data
        data.update({k: v for k, v in cleaned.items() if k in self.fields})
        return data


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    form = PartnerForm
    list_display = ("name_zh", "name_en", "kind", "key_id", "institution_code", "active", "created_at")
    list_filter = ("kind", "active")
    search_fields = ("name_zh", "name_en", "=key_id", "=institution_code")
    readonly_fields = ("key_id", "created_at", "updated_at")
    ordering = ("kind", "name_zh")
    actions = ("rotate_secret",)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("kind",) if obj is not None else ())

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: Partner, form, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = partner_services.partner_update(
                partner=obj, actor=actor_of(request), name_zh=data["name_zh"], name_en=data.get("name_en", ""),
                institution_code=data.get("institution_code", ""), active=data.get("active", True))
        else:
            saved, secret = partner_services.partner_create(
                kind=data["kind"], name_zh=data["name_zh"], name_en=data.get("name_en", ""),
                institution_code=data.get("institution_code", ""), actor=actor_of(request))
            if not data.get("active", True):
                saved = partner_services.partner_update(
                    partner=saved, actor=actor_of(request), name_zh=saved.name_zh, name_en=saved.name_en,
                    institution_code=saved.institution_code, active=False)
            self.message_user(request, f"密钥只显示这一次，请安全地交给对方 The secret is shown only once: key id "
                                       f"{saved.key_id}  secret {secret}", messages.WARNING)
        for f in Partner._meta.concrete_fields:  # the admin goes on with the saved row (redirects, log entry)
            setattr(obj, f.attname, getattr(saved, f.attname))
        obj._state.adding = False
        obj._state.db = saved._state.db

    @admin.action(description="更换签名密钥 Rotate the signing secret (shown once)")
    def rotate_secret(self, request, queryset):
        for partner in queryset:
            rotated, secret = partner_services.partner_rotate_secret(partner=partner, actor=actor_of(request))
            self.message_user(request, f"{rotated.name_zh}: key id {rotated.key_id}  secret {secret}",
                              messages.WARNING)


@admin.register(HealthCheck)
class HealthCheckAdmin(BrowseOnlyAdmin):
    """Browse-only: records come from the hospitals' API. The conditions text (medical data) is not shown."""

    list_display = ("id", "record_number", "hospital", "person_masked", "examined_on", "result", "valid_until",
                    "received_at")
    list_filter = ("result", "hospital")
    search_fields = ("=record_number",)
    search_help_text = "体检编号，或身份证号码 Record number, or the person's ID number"
    list_select_related = ("person", "hospital")
    exclude = ("person", "conditions")
    readonly_fields = ("person_masked", "hospital", "record_number", "examined_on", "result", "vision_left",
                       "vision_right", "colour_vision_normal", "hearing_normal", "limbs_normal", "valid_until",
                       "received_at")
    ordering = ("-id",)

    @admin.display(description="人员 Person")
    def person_masked(self, obj: HealthCheck) -> str:
        return f"{mask_name(obj.person.name)} {mask_id_number(obj.person.id_number)}"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(record_number=term) | queryset.filter(person_id__in=_person_ids_for(term)), False
