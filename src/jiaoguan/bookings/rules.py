"""Pure rules of the capacity engine: ranking order, penalty windows and bans, references."""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Crockford-style alphabet without I, L, O, U: references are read out over the phone
_REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def reference_new(prefix: str = "YY") -> str:
    """A booking reference: a prefix and 10 random characters (50 bits; collisions are refused by the index)."""
    return prefix + "".join(secrets.choice(_REF_ALPHABET) for _ in range(10))


@dataclass(frozen=True)
class Ranked:
    id: int
    sort_time: dt.datetime


def rank_order(items: Iterable[Ranked]) -> list[Ranked]:
    """Earlier sort time ranks higher; equal times keep submission order (the lower id first)."""
    return sorted(items, key=lambda r: (r.sort_time, r.id))


def allocate(items: Sequence[Ranked], seats: int) -> tuple[list[tuple[Ranked, int]], list[tuple[Ranked, int]]]:
    """(allocated, unsuccessful), each as (item, rank) with ranks 1..n in rank order."""
    ordered = rank_order(items)
    seats = max(0, seats)
    ranked = [(item, i + 1) for i, item in enumerate(ordered)]
    return ranked[:seats], ranked[seats:]


def live_rank(my: Ranked, others: Iterable[Ranked]) -> int:
    """1 + how many other pending applications rank ahead of mine."""
    key = (my.sort_time, my.id)
    return 1 + sum(1 for o in others if o.id != my.id and (o.sort_time, o.id) < key)


def year_end(at: dt.datetime) -> dt.datetime:
    """The first instant of the next calendar year in ``at``'s time zone."""
    return at.replace(year=at.year + 1, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


def year_start(at: dt.datetime) -> dt.datetime:
    return at.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class PenaltyDecision:
    ends_at: dt.datetime | None
    period_key: str


def penalty_for(*, ban: str, ban_days: int, now: dt.datetime, period_key: str) -> PenaltyDecision | None:
    """What a triggered rule imposes: the rest of a period (needs a period key), the rest of the year, or N days."""
    if ban == "period":
        return PenaltyDecision(None, period_key) if period_key else None
    if ban == "year":
        return PenaltyDecision(year_end(now), "")
    if ban == "days":
        return PenaltyDecision(now + dt.timedelta(days=max(1, ban_days)), "")
    raise ValueError(f"unknown ban {ban!r}")


def penalty_applies(*, starts_at: dt.datetime, ends_at: dt.datetime | None, period_key: str, lifted: bool,
                    now: dt.datetime, slot_period_key: str) -> bool:
    """Does a penalty stop a booking now, for a slot of ``slot_period_key``?"""
    if lifted or starts_at > now:
        return False
    if period_key:
        return period_key == slot_period_key and (ends_at is None or ends_at > now)
    return ends_at is None or ends_at > now


def threshold_reached(*, count: int, threshold: int) -> bool:
    return threshold > 0 and count >= threshold
