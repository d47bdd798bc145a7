"""Template tags of the payments app: the numbers of its rules, read from the settings the rules read, so no page
writes them down ({% load payments %}{% late_fee_rules as late_fee %} … {{ late_fee.grace_days }})."""
from __future__ import annotations

from django import template

from jiaoguan.payments.selectors import late_fee_rules as _late_fee_rules

register = template.Library()


@register.simple_tag
def late_fee_rules() -> dict[str, int]:
    """The late fee as the city configures it: {"grace_days": 15, "daily_percent": 3} by default."""
    grace, percent = _late_fee_rules()
    return {"grace_days": grace, "daily_percent": percent}
