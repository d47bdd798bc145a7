"""Template filters shared by portal and console: {% load jiaoguan %}.

Bilingual labels are core.i18n pairs (``bi(zh, en)``) and render themselves in the active language:
``{{ vehicle.get_plate_type_display }}``, ``{{ service.name }}``. The ``bi`` filter is for pairs held in other
shapes: ``{{ pair|bi }}`` (a ``(zh, en)`` tuple or a mapping with ``zh`` / ``en``) and
``{{ summary|bi:"plate_type" }}`` (``plate_type_zh`` / ``plate_type_en`` attributes of a selector's summary).
"""
from __future__ import annotations

from django import template

from jiaoguan.core import i18n, masking
from jiaoguan.core.identifiers import format_plate
from jiaoguan.core.money import format_yuan

register = template.Library()


@register.filter
def bi(value, prefix: str | None = None) -> str:
    return i18n.text(i18n.pair(value, prefix))


@register.filter
def yuan(fen) -> str:
    return format_yuan(int(fen or 0))


@register.filter
def plate(value) -> str:
    return format_plate(value) if value and len(value) > 2 else (value or "")


@register.filter
def mask_id(value) -> str:
    return masking.mask_id_number(value)


@register.filter
def mask_phone(value) -> str:
    return masking.mask_phone(value)


@register.filter
def mask_name(value) -> str:
    return masking.mask_name(value)


@register.filter
def mask_address(value) -> str:
    return masking.mask_address(value)
