"""Persons of the register (人员档案): add one, change the phone or address on file."""
from __future__ import annotations

from django.db import IntegrityError, transaction

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, InvalidInput
from jiaoguan.core.identifiers import id_number_birth_date, id_number_is_male, validate_id_number, validate_phone
from jiaoguan.core.masking import mask_address, mask_id_number, mask_name, mask_phone
from jiaoguan.core.outbox import records_changed
from jiaoguan.registry.models import Person
from jiaoguan.registry.selectors import person_by_id_number
from jiaoguan.registry.services._helpers import _require_staff, validate_person_name


def _masked_person(person: Person) -> dict:
    return {"name": mask_name(person.name), "id_number": mask_id_number(person.id_number),
            "phone": mask_phone(person.phone), "address": mask_address(person.address)}


def person_create(*, name: str, id_number: str, actor: Actor, phone: str | None = None, address: str = "") -> Person:
    """Add a person to the register. Gender and birth date come from the ID number."""
    _require_staff(actor)
    errors: dict[str, tuple[str, str]] = {}
    values: dict = {}
    checks = (("name", lambda: validate_person_name(name)), ("id_number", lambda: validate_id_number(id_number)),
              ("phone", lambda: validate_phone(phone) if phone else None))
    for key, check in checks:
        try:
            values[key] = check()
        except InvalidInput as exc:
            errors.update(exc.fields)
    if errors:
        first = next(iter(errors))
        raise InvalidInput("registry.person_invalid", *errors[first], field=None, fields=errors)
    number = values["id_number"]
    now = clock.now()
    with transaction.atomic():
        if person_by_id_number(id_number=number) is not None:
            raise Conflict("registry.person_exists", "该身份证号码的人员已在档案中",
                           "A person with this ID number is already registered", field="id_number")
        try:
            with transaction.atomic():
                person = Person.objects.create(
                    name=values["name"], id_number=number, phone=values["phone"], address=(address or "").strip(),
                    gender=Person.Gender.MALE if id_number_is_male(number) else Person.Gender.FEMALE,
                    birth_date=id_number_birth_date(number), created_at=now, updated_at=now,
                )
        except IntegrityError:  # a concurrent insert of the same ID number
            raise Conflict("registry.person_exists", "该身份证号码的人员已在档案中",
                           "A person with this ID number is already registered", field="id_number") from None
        audit_record(actor=actor, action="person.create", obj=person, new=_masked_person(person),
                     subject_person_id=person.pk)
    return person


def person_update_phone(*, person: Person, phone: str, actor: Actor, reason: str, by_holder: bool = False) -> Person:
    """Change the phone on file (预留手机号): at a window after checking the holder's ID card, or — ``by_holder`` —
    when a change the holder asked for online has waited out its cooling-off period
    (identity.services.phone_on_file checks who asked and when)."""
    if not by_holder:
        _require_staff(actor)
    phone = validate_phone(phone)
    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)
        old = locked.phone
        if old == phone:
            return person
        locked.phone = phone
        locked.updated_at = clock.now()
        locked.save(update_fields=["phone", "phone_hash", "updated_at"])
        records_changed(person_ids=[locked.pk])
        audit_record(actor=actor, action="person.update_phone", obj=locked, old={"phone": mask_phone(old)},
                     new={"phone": mask_phone(phone)}, reason=reason, subject_person_id=locked.pk)
    person.phone, person.phone_hash, person.updated_at = locked.phone, locked.phone_hash, locked.updated_at
    return person


ADDRESS_MIN, ADDRESS_MAX = 8, 200


def person_update_address(*, person: Person, address: str, actor: Actor, reason: str,
                          by_holder: bool = False) -> Person:
    """Change the contact address on file (where documents are posted): by staff, or — ``by_holder`` — by the
    person through their own real-name account (identity.services.contact_address_change checks who asks)."""
    if not by_holder:
        _require_staff(actor)
    address = " ".join(str(address or "").split())
    if not ADDRESS_MIN <= len(address) <= ADDRESS_MAX:
        raise InvalidInput("registry.address_invalid", f"请填写完整的联系地址（{ADDRESS_MIN}至{ADDRESS_MAX}字）",
                           f"Give the full address ({ADDRESS_MIN} to {ADDRESS_MAX} characters)", field="address")
    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)
        old = locked.address
        if old == address:
            return person
        locked.address = address
        locked.updated_at = clock.now()
        locked.save(update_fields=["address", "updated_at"])
        records_changed(person_ids=[locked.pk])
        audit_record(actor=actor, action="person.update_address", obj=locked, old={"address": mask_address(old)},
                     new={"address": mask_address(address)}, reason=reason, subject_person_id=locked.pk)
    person.address, person.updated_at = locked.address, locked.updated_at
    return person
