"""What the console shows of a person, and the access-audit row written before anything is shown.

``person_record_open`` is the only way a console page reads a citizen's record: it checks the permission,
writes the audit row ("person.view", or "person.unmask" with the reason and the unmasked fields) and only then
returns the record, with the personal fields already masked unless this is an unmask. Templates never see a
clear value they are not meant to show, so a template slip cannot leak one.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django.core.exceptions import ObjectDoesNotExist

from jiaoguan.core import masking
from jiaoguan.core.audit import Actor, audit_access
from jiaoguan.core.errors import InvalidInput, forbidden
from jiaoguan.identity.roles import has_permission
from jiaoguan.identity.selectors import my_bindings
from jiaoguan.registry.selectors import (
    licence_for_person,
    licence_summary,
    person_get,
    vehicle_summaries,
    vehicles_owned_by,
)

UNMASKED_FIELDS = ["name", "id_number", "phone", "address"]


@dataclass
class PersonRecord:
    person_id: int
    unmasked: bool
    name: str
    id_number: str
    phone: str
    address: str
    gender: str
    birth_date: Any
    licence: Any = None  # registry LicenceSummary or None
    vehicles: list = field(default_factory=list)  # registry VehicleSummary
    account: Any = None  # the person's citizen account, if registered
    account_phone: str = ""
    bindings: list = field(default_factory=list)  # the account's vehicle bindings


def _shown(value: str | None, mask, unmasked: bool) -> str:
    return (value or "") if unmasked else mask(value)


def person_record_open(*, user, ip: str, person_id: int, unmask: bool = False, reason: str = "") -> PersonRecord:
    """Open a person's record for a staff member; audit first, then read. Raises Forbidden / NotFound."""

    if not has_permission(user, "person.view") or (unmask and not has_permission(user, "person.unmask")):
        raise forbidden()
    reason = (reason or "").strip()
    if unmask and not reason:
        raise InvalidInput("console.reason_required", "请填写查看原因", "Give a reason for unmasking", field="reason")
    person = person_get(person_id=person_id)  # NotFound before anything is written for a missing id
    actor = Actor.of(user, ip=ip)
    if unmask:
        audit_access(actor=actor, action="person.unmask", subject_person_id=person.pk, fields=UNMASKED_FIELDS,
                     reason=reason)
    else:
        audit_access(actor=actor, action="person.view", subject_person_id=person.pk)

    licence = licence_for_person(person=person)
    summary = licence_summary(licence=licence) if licence is not None else None
    if summary is not None:  # the licence number is the ID number: masked like it
        summary = replace(summary, licence_number=_shown(summary.licence_number, masking.mask_id_number, unmask))
    account = person.account if _has_account(person) else None
    return PersonRecord(
        person_id=person.pk,
        unmasked=unmask,
        name=_shown(person.name, masking.mask_name, unmask),
        id_number=_shown(person.id_number, masking.mask_id_number, unmask),
        phone=_shown(person.phone, masking.mask_phone, unmask),
        address=_shown(person.address, masking.mask_address, unmask),
        gender=person.get_gender_display(),
        birth_date=person.birth_date if unmask else None,
        licence=summary,
        vehicles=vehicle_summaries(vehicles=vehicles_owned_by(person=person)),
        account=account,
        account_phone=_shown(getattr(account, "phone", None), masking.mask_phone, unmask) if account else "",
        bindings=list(my_bindings(user=account)) if account is not None else [],
    )


def _has_account(person) -> bool:
    try:
        return person.account is not None
    except ObjectDoesNotExist:
        return False
