"""Template filters shared by portal and console: {% load jiaoguan %}.

Choice labels in models are written "<中文> <English>" (the Chinese part has no space); ``lang_pick`` shows the
part for the current language, so one label serves both languages.
"""
from __future__ import annotations

from django import template
from django.utils import translation

from jiaoguan.core import masking
from jiaoguan.core.identifiers import format_plate
from jiaoguan.core.money import format_yuan

register = template.Library()


def pick(label: str, language: str | None = None) -> str:
    label = str(label or "")
    zh, sep, en = label.partition(" ")
    if not sep:
        return label
    lang = language or translation.get_language() or "zh-hans"
    return en if lang.startswith("en") else zh


@register.filter
def lang_pick(label) -> str:
    return pick(label)


def stored_text(obj, prefix: str, language: str | None = None) -> str:
    """A stored text kept in both languages — fields or keys ``<prefix>_zh`` and ``<prefix>_en`` — in the current
    language; the Chinese when there is no English."""
    def get(name: str) -> str:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        return str(value or "")

    lang = language or translation.get_language() or "zh-hans"
    return (lang.startswith("en") and get(f"{prefix}_en")) or get(f"{prefix}_zh")


@register.filter
def in_lang(obj, prefix: str) -> str:
    """{{ item|in_lang:"description" }}: see stored_text (payment items' names, order lines, receipts)."""
    return stored_text(obj, prefix)


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
