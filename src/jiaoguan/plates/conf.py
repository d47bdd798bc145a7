"""The plates app's settings (ARCHITECTURE §4 "configuration as data"), DOMAIN §5's values as defaults.

Per-office knobs (batch size, redraws, hold minutes, compose patterns, the eligibility window) live on the
``Office`` rows staff edit; what is here is the fallback and the anti-scanning rate limits. Override any key with
a ``JIAOGUAN_PLATES`` dict in the settings, e.g. ``{"DRAW_RATE_PER_USER": "30/h"}``.
"""
from __future__ import annotations

from django.conf import settings

DEFAULTS: dict = {
    # draws: per account and per client IP (sliding windows, identity.ratelimit); a redraw beyond the selection's
    # allowance is refused regardless
    "DRAW_RATE_PER_USER": "20/h",
    "DRAW_RATE_PER_IP": "200/h",
    # composed-number checks answer "is this number free?": limited harder, they could map the pool
    "COMPOSE_RATE_PER_USER": "30/h",
    "COMPOSE_RATE_PER_IP": "300/h",
    # one generation run may add at most this many numbers (a series like "@####" is 240,000)
    "GENERATE_MAX": 1_000_000,
    # keeping a previous plate (DOMAIN §5)
    "KEEP_MIN_HELD_DAYS": 365,
    "KEEP_WITHIN_DAYS": 730,
}


def get(name: str):
    overrides = settings.JIAOGUAN_PLATES
    return overrides.get(name, DEFAULTS[name])
