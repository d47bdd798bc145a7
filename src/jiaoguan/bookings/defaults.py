"""Default configuration data of the capacity engine (migration 0002 seeds the same rows; cities edit them in
the admin)."""
from typing import TypedDict


class PenaltyRuleSeed(TypedDict):
    """The fields of one seeded ``PenaltyRule`` (lookup keys of ``get_or_create``)."""
    kind: str
    event: str
    threshold: int
    window: str
    ban: str


# DOMAIN §6, eastern scenic areas: 3 cancellations lose that holiday (the slot's period); 3 no-shows blacklist
# for the calendar year.
DEFAULT_PENALTY_RULES: list[PenaltyRuleSeed] = [
    {"kind": "eastern", "event": "cancel", "threshold": 3, "window": "period", "ban": "period"},
    {"kind": "eastern", "event": "no_show", "threshold": 3, "window": "year", "ban": "year"},
]
