"""Template filters shared by portal and console: {% load jiaoguan %}.

Bilingual labels are core.i18n pairs (``bi(zh, en)``) and render themselves in the active language:
``{{ vehicle.get_plate_type_display }}``, ``{{ service.name }}``. The ``bi`` filter is for pairs held in other
shapes: ``{{ pair|bi }}`` (a ``(zh, en)`` tuple or a mapping with ``zh`` / ``en``) and
``{{ summary|bi:"plate_type" }}`` (``plate_type_zh`` / ``plate_type_en`` attributes of a selector's summary).
"""
from __future__ import annotations

from typing import Any

from django import template

from jiaoguan.core import i18n, masking
from jiaoguan.core.identifiers import PLATE_TYPE_COLOURS, format_plate, plate_colour
from jiaoguan.core.money import format_yuan

register = template.Library()


@register.filter
def bi(value: Any, prefix: str | None = None) -> str:
    return i18n.text(i18n.pair(value, prefix))


@register.filter
def yuan(fen: Any) -> str:
    return format_yuan(int(fen or 0))


@register.filter
def plate(value: Any) -> str:
    return format_plate(value) if value and len(value) > 2 else (value or "")


@register.filter
def mask_id(value: Any) -> str:
    return masking.mask_id_number(value)


@register.filter
def mask_phone(value: Any) -> str:
    return masking.mask_phone(value)


@register.filter
def mask_name(value: Any) -> str:
    return masking.mask_name(value)


@register.filter
def mask_address(value: Any) -> str:
    return masking.mask_address(value)


@register.filter
def plate_tone(vehicle: Any) -> str:
    """The CSS class of a drawn plate (``<span class="plate {{ v|plate_tone }}">``): "" for blue, "large" (yellow),
    "nev" (green), "nev-large" (yellow-green), "police" (white). Takes anything with a plate and/or plate_type (a
    registry Vehicle or VehicleSummary, a violation, a binding, a plate-number row) or a plate number itself; the
    rule is core.identifiers.plate_colour (号牌种类, else the number's format)."""
    if isinstance(vehicle, str):
        colour = plate_colour(vehicle)
    else:
        plate_type = str(getattr(vehicle, "plate_type", "") or "")
        if plate_type not in PLATE_TYPE_COLOURS:
            plate_type = ""  # not a GA 36 code: judge by the number
        colour = plate_colour(str(getattr(vehicle, "plate", "") or getattr(vehicle, "number", "") or ""), plate_type)
    return {"blue": "", "yellow": "large", "green": "nev", "yellow-green": "nev-large", "white": "police"}[colour]
