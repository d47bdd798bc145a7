"""Portal template helpers: {% load portal %}."""
from __future__ import annotations

from django import template
from django.utils.safestring import mark_safe

from jiaoguan.core.templatetags.jiaoguan import bi as core_bi
from jiaoguan.notifications.selectors import unread_count
from jiaoguan.payments.reference import reference_display
from jiaoguan.payments.reference import svg_fluid as fluid

register = template.Library()

# Tones of the status tags (ok = green, warn = amber, bad = red) by the status codes the selectors return.
_TONES = {
    # licence
    "valid": "ok", "expired": "bad", "suspended": "bad", "revoked": "bad", "cancelled": "bad",
    # vehicle
    "normal": "ok", "mortgaged": "warn", "seized": "bad", "stolen": "bad", "scrapped": "bad", "transferred": "warn",
    # inspection and insurance
    "ok": "ok", "insured": "ok", "due_soon": "warn", "expiring": "warn", "exempt": "ok",
    "overdue": "bad", "uninsured": "bad", "lapsed": "bad", "none": "bad",
}


@register.filter
def tone(code) -> str:
    return _TONES.get(str(code or ""), "")


@register.simple_tag(takes_context=True)
def unread_count_for(context, user) -> int:
    """The navigation's unread badge; a view that already counted them (``unread`` in its context) is not asked
    twice in one page."""
    if not getattr(user, "is_authenticated", False):
        return 0
    counted = context.get("unread")
    if isinstance(counted, int):
        return counted
    return unread_count(user=user)


# {{ summary|bi:"plate_type" }} in portal templates: the one bilingual filter of core (core/templatetags/jiaoguan.py)
register.filter("bi", core_bi)


@register.filter
def svg_fluid(svg: str) -> str:
    """An inline barcode or QR code SVG that scales with its box (see payments.reference.svg_fluid)."""
    return mark_safe(fluid(svg))


@register.filter
def ref_display(code) -> str:
    """A payment reference printed in groups of four, as on the decision and the receipt."""
    return reference_display(str(code or ""))
