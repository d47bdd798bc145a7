"""The eastern scenic areas' settings (ARCHITECTURE §4 "configuration as data"), DOMAIN §6's values as defaults.

Override any key with a ``JIAOGUAN_EASTERN`` dict in the settings, e.g. ``{"DELAY_HOURS": 4}``. Areas, booking
days, quotas and the registered local vehicles are data staff edit in the console.
"""
from __future__ import annotations

from django.conf import settings

DEFAULTS: dict = {
    # a reported delay extends the entry window by this many hours (DOMAIN §6)
    "DELAY_HOURS": 6,
    # cars with at most this many seats book; bigger vehicles are buses (exempt) or not bookable
    "MAX_SEATS": 9,
    # the violation recorded for entering without a valid booking (violations fixture: ¥300, 1 point)
    "VIOLATION_CODE": "9301",
    # exempt without a booking (DOMAIN §6): buses, trucks, taxis, emergency and official vehicles
    "EXEMPT_KINDS": ("bus", "truck", "trailer"),
    "EXEMPT_USES": ("taxi", "bus_service", "official", "passenger_commercial", "freight"),
    # plates of vehicles not in this city's register: large-vehicle plates are buses or trucks
    "EXEMPT_PLATE_TYPES": ("01", "51"),
    # plate types a citizen may type for a car from another city (small passenger cars)
    "TYPED_PLATE_TYPES": ("02", "52"),
    # bookings an account may make a day for cars from other cities (typed plates, not bound)
    "MAX_TYPED_PER_DAY": 1,
    # the no-show sweep waits this long after an entry window ends (cameras may upload late)
    "NO_SHOW_GRACE_MINUTES": 60,
    # a camera's time may be at most this far ahead of the server's clock
    "MAX_FUTURE_SECONDS": 300,
    # defaults of the staff form for a booking day
    "FIRST_SLOT": "06:00",
    "SLOT_MINUTES": 120,
    "SLOTS": 6,
    # a merchant may book this many plates in one request
    "MAX_MERCHANT_PLATES": 50,
}


def get(name: str):
    overrides = settings.JIAOGUAN_EASTERN
    if name in overrides:
        return overrides[name]
    return DEFAULTS[name]
