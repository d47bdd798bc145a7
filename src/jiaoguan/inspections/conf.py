"""The city's inspection settings (ARCHITECTURE §4 "configuration as data"), with DOMAIN §5's values as defaults.

Override any key with a ``JIAOGUAN_INSPECTIONS`` dict in the settings, e.g. ``{"CANCEL_HOURS_BEFORE": 2}``.
The inspection schedule itself (which years are on-site, which are online marks) is registry data
(``registry.InspectionRule``).
"""
from __future__ import annotations

from django.conf import settings

from jiaoguan.registry import rules as registry_rules

DEFAULTS: dict = {
    # how long before the due date an inspection (or a mark) is possible; None = the registry's rule
    # (registry.rules.INSPECTION_SOON_DAYS, 90 days: "检验有效期满前3个月内")
    "DUE_WINDOW_DAYS": None,
    # a seat is held this long while the citizen confirms (first come)
    "HOLD_MINUTES": 10,
    # a confirmed booking can be cancelled until this many hours before the slot starts (0 = until the start)
    "CANCEL_HOURS_BEFORE": 0,
    # how far ahead citizens see dates to book
    "BOOK_AHEAD_DAYS": 14,
    # slot generation: limits of one request
    "MAX_GENERATE_DAYS": 62,
    "MAX_GENERATE_SLOTS": 3000,
    # vehicle statuses that may be inspected (the registry also accepts a mortgaged vehicle)
    "INSPECTABLE_STATUSES": ("normal", "mortgaged"),
    # an exempt-year vehicle may still apply for its mark online after the due date has passed
    "MARK_ALLOWED_OVERDUE": True,
    # 永不脱检: the marks of exempt-year vehicles are issued by the daily sweep this many days before the due date
    # and the printed mark posted to the owner's address on file (services.marks_auto_issue); False: owners apply
    "MARK_AUTO": True,
    "MARK_AUTO_DAYS": 30,
}


def get(name: str):
    overrides = settings.JIAOGUAN_INSPECTIONS
    if name in overrides:
        return overrides[name]
    if name == "DUE_WINDOW_DAYS" and DEFAULTS[name] is None:
        return registry_rules.INSPECTION_SOON_DAYS
    return DEFAULTS[name]
