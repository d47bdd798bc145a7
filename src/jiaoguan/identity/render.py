"""What the identity app's citizen records look like on the wire: the account ("me"), the driving licence and
the vehicles, rendered for one language. The API's endpoints and the "my records" read model (jiaoguan.records)
render through these, so both give the same document."""
from __future__ import annotations

from jiaoguan.core.i18n import bi, text
from jiaoguan.core.identifiers import format_plate
from jiaoguan.core.masking import mask_id_number, mask_name, mask_phone
from jiaoguan.identity import selectors
from jiaoguan.identity.models import User


def _pick(language: str, zh: str, en: str) -> str:
    return bi(zh, en).pick(language)


def _label(language: str, label) -> str:
    """A choice label (a core.i18n pair) in ``language``."""
    return text(label, language)


def me_out(language: str, user: User) -> dict:
    person = user.person if user.person_id else None
    standing = selectors.account_standing(user=user)
    return {
        "phone_mismatch": standing.phone_mismatch,
        "phone_missing": standing.phone_missing,
        "notice": _pick(language, standing.message_zh, standing.message_en),
        "id": user.pk,
        "role": user.role,
        "role_label": _label(language, user.get_role_display()),
        "name": user.display_name or (mask_name(person.name) if person else ""),
        "phone": mask_phone(user.phone),
        "id_number": mask_id_number(person.id_number) if person else "",
        "real_name_verified": user.real_name_verified_at is not None,
        "language": user.preferred_language,
    }


def licence_out(language: str, s) -> dict:
    return {
        "licence_number": mask_id_number(s.licence_number),
        "file_number": s.file_number,
        "classes": [{"code": code, "label": _pick(language, zh, en)} for code, zh, en in s.classes],
        "covered_classes": list(s.covered_classes),
        "first_issue_date": s.first_issue_date,
        "valid_from": s.valid_from,
        "valid_until": s.valid_until,
        "validity": s.validity,
        "validity_label": _pick(language, s.validity_zh, s.validity_en),
        "status": s.status,
        "status_label": _pick(language, s.status_zh, s.status_en),
        "points": s.points,
        "points_left": s.points_left,
        "cycle_start": s.cycle_start,
        "cycle_end": s.cycle_end,
        "probation_until": s.probation_until,
        "in_probation": s.in_probation,
        "probation_classes": s.probation_classes.split() if s.in_probation else [],
        "renewal_window_open": s.renewal_window_open,
    }


def vehicle_out(language: str, mv) -> dict:
    v = mv.vehicle
    # Field by field on purpose: nothing about the owner (not even the registry's person id) goes out.
    return {
        "binding_id": mv.binding_id,
        "binding_kind": mv.kind,
        "bound_at": mv.bound_at,
        "plate": v.plate,
        "plate_display": format_plate(v.plate),
        "plate_type": v.plate_type,
        "plate_type_label": _pick(language, v.plate_type_zh, v.plate_type_en),
        "is_new_energy": v.is_new_energy,
        "brand": v.brand,
        "vehicle_kind": v.kind,
        "vehicle_kind_label": _pick(language, v.kind_zh, v.kind_en),
        "use": v.use,
        "use_label": _pick(language, v.use_zh, v.use_en),
        "registration_date": v.registration_date,
        "inspection_due": v.inspection_due,
        "inspection_status": v.inspection_status,
        "inspection_label": _pick(language, v.inspection_zh, v.inspection_en),
        "inspection_days_left": v.inspection_days_left,
        "insurance_status": v.insurance_status,
        "insurance_label": _pick(language, v.insurance_zh, v.insurance_en),
        "insurance_until": v.insurance_until,
        "status": v.status,
        "status_label": _pick(language, v.status_zh, v.status_en),
        "vin_last4": v.vin_last4,
    }
