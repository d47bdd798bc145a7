"""The city's violation settings (ARCHITECTURE §4 "configuration as data"), with DOMAIN §4's values as defaults.

Override any key with a ``JIAOGUAN_VIOLATIONS`` dict in the settings, e.g. ``{"ONLINE_MAX_FINE_FEN": 30000}``.
The fines themselves are in the code table (ViolationCode.fine_fen), edited in the admin.
"""
from __future__ import annotations

from django.conf import settings

from jiaoguan.registry.rules import FULL_SCORE

DEFAULTS: dict = {
    # online self-service (12123), DOMAIN §4
    "ONLINE_SOURCES": ("device",),          # only camera-recorded (非现场) violations
    "ONLINE_MAX_FINE_FEN": 20000,           # a warning or a fine of at most ¥200
    # the city's own caps per code, above the national one: a city handles its own codes online (Shenzhen's
    # eastern-area reservation code 9301, ¥300); a code not listed keeps ONLINE_MAX_FINE_FEN
    "ONLINE_MAX_FINE_BY_CODE": {"9301": 30000},
    "ONLINE_MAX_POINTS": 6,
    "FULL_SCORE": FULL_SCORE,                # the cycle total must stay under this (registry.rules)
    # penalty decisions: 6-digit agency code (the city's traffic police) + 8-digit sequence + check digit
    "AGENCY_CODE": "440300",
    # fines that rise with repetition (DOMAIN §4, Shenzhen: red light ¥500, from the 3rd in a year ¥1,000): the
    # nth violation of the code by the same licence within ``within_days`` before it is fined ``fine_fen``
    "FINE_ESCALATIONS": {"1625": {"nth": 3, "within_days": 365, "fine_fen": 100000}},
    # devices
    "DEVICE_MAX_SKEW_SECONDS": 300,         # a signed request older or newer than this is stale
    "MAX_PHOTOS": 4,
    "MAX_PHOTO_BYTES": 150 * 1024,          # per photo, decoded (the JSON body limit is 256 KB)
    "MAX_BATCH": 50,
    # device scopes (rules.DeviceScope): what a new device of each kind may do unless given its own scope.
    # Codes a camera cannot see (drink-driving, fake plates, licence class) are in no kind: on-site only.
    "DEVICE_KIND_SCOPES": {
        "traffic": {"endpoints": ("violations.single", "violations.batch"),
                    "codes": ("1625", "1362", "1357", "1373", "1116", "1117", "1120", "1019", "1352", "1636",
                              "1721", "4609", "1302", "4608", "4401", "1344")},
        "parking": {"endpoints": ("violations.single", "violations.batch"), "codes": ("1039",)},
        "checkpoint": {"endpoints": ("eastern.checkpoint",), "codes": ("9301",)},
    },
    # the city's names a violation's place may begin with before its area (rules.place_in_area)
    "CITY_NAMES": ("广东省深圳市", "深圳市"),
    # first-violation waivers: which rule sets apply, and their parameters
    "WAIVER_RULES": ("shenzhen", "national"),
    "CITY_PLATE_PREFIX": None,              # None: settings.JIAOGUAN_PLATE_PREFIX (粤B)
    "SHENZHEN_MAX_FINE_FEN": 50000,
    "SHENZHEN_CLEAN_MONTHS": 24,
    "SHENZHEN_VEHICLE_MIN_MONTHS": 24,
    "NATIONAL_CLEAN_MONTHS": 6,
}


def get(name: str):
    overrides = settings.JIAOGUAN_VIOLATIONS or {}
    if name in overrides:
        return overrides[name]
    if name == "CITY_PLATE_PREFIX" and DEFAULTS[name] is None:
        return settings.JIAOGUAN_PLATE_PREFIX
    return DEFAULTS[name]
