"""Console template helpers: {% load console %}."""
from __future__ import annotations

from django import template

from jiaoguan.identity.roles import has_permission

register = template.Library()


@register.filter
def can(user, permission: str) -> bool:
    """{% if user|can:"person.search" %}: the same question the views ask."""
    return has_permission(user, permission)
