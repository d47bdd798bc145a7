"""Pure rules of the capacity engine: ranking order, penalty windows and bans, references."""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from jiaoguan.core.clock import localtime
from jiaoguan.core.states import StateMachine

# Crockford-style alphabet without I, L, O, U: references are read out over the phone
_REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


_REF_LENGTH = 10
# byte -> one of the 32 characters: 256 is a multiple of 32, so every character is equally likely
_REF_BYTES = bytes(ord(_REF_ALPHABET[b % len(_REF_ALPHABET)]) for b in range(256))


def reference_new(prefix: str = "YY") -> str:
    """A booking reference: a prefix and 10 random characters (50 bits; collisions are refused by the index)."""
    return prefix + "".join(secrets.choice(_REF_ALPHABET) for _ in range(_REF_LENGTH))


def references_new(n: int, prefix: str = "YY") -> list[str]:
    """``n`` references as ``reference_new`` draws them (the same alphabet, length and randomness: one random
    byte per character), at once: the allocation draws a hundred thousand in milliseconds."""
    raw = secrets.token_bytes(_REF_LENGTH * max(0, n)).translate(_REF_BYTES).decode("ascii")
    return [prefix + raw[i:i + _REF_LENGTH] for i in range(0, len(raw), _REF_LENGTH)]


# The rank order, the one rule: earlier sort time ranks higher; equal times keep submission order (the lower id
# first). The columns, most significant first: ``rank_key`` below, the allocation's SQL window
# (services.ranked._RANK_SQL) and the selectors' queries are all built from this tuple; the property test
# (tests/bookings/test_ranking_property.py) checks the SQL against the Python.
RANK_ORDER = ("sort_time", "id")
# How often the allocation job runs (tasks.py declares it with this; the console pages say it).
ALLOCATE_EVERY_SECONDS = 300


@dataclass(frozen=True)
class Ranked:
    id: int
    sort_time: dt.datetime


def rank_key(item) -> tuple:
    """An application's (or a ``Ranked``'s) position key in ``RANK_ORDER``: smaller ranks higher."""
    return tuple(getattr(item, field) for field in RANK_ORDER)


def rank_order(items: Iterable[Ranked]) -> list[Ranked]:
    """Best first, by ``rank_key``."""
    return sorted(items, key=rank_key)


def ranks(items: Iterable[Ranked]) -> dict[int, int]:
    """id -> rank (1 = first) of these items among themselves."""
    return {item.id: i for i, item in enumerate(rank_order(items), start=1)}


def allocate(items: Sequence[Ranked], seats: int) -> tuple[list[tuple[Ranked, int]], list[tuple[Ranked, int]]]:
    """(allocated, unsuccessful), each as (item, rank) with ranks 1..n in rank order."""
    ordered = rank_order(items)
    seats = max(0, seats)
    ranked = [(item, i + 1) for i, item in enumerate(ordered)]
    return ranked[:seats], ranked[seats:]


def live_rank(my: Ranked, others: Iterable[Ranked]) -> int:
    """1 + how many other pending applications rank ahead of mine."""
    key = rank_key(my)
    return 1 + sum(1 for o in others if o.id != my.id and rank_key(o) < key)


def year_end(at: dt.datetime) -> dt.datetime:
    """The first instant of the next calendar year in ``at``'s time zone."""
    return at.replace(year=at.year + 1, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


def year_start(at: dt.datetime) -> dt.datetime:
    return at.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class PenaltyDecision:
    ends_at: dt.datetime | None
    period_key: str


def _local(at: dt.datetime) -> dt.datetime:
    """``at`` in the project's time zone (Asia/Shanghai): calendar years are Beijing years, not UTC ones."""
    return localtime(at)


def penalty_for(*, ban: str, ban_days: int, now: dt.datetime, period_key: str,
                event_at: dt.datetime | None = None) -> PenaltyDecision | None:
    """What a triggered rule imposes: the rest of a period (needs a period key), the rest of the calendar year
    (Asia/Shanghai) of the triggering event (``event_at``, default ``now``), or N days from now. None when
    there is nothing to impose (no period key; a year that has already ended)."""
    if ban == "period":
        return PenaltyDecision(None, period_key) if period_key else None
    if ban == "year":
        ends = year_end(_local(event_at or now))
        return PenaltyDecision(ends, "") if ends > now else None
    if ban == "days":
        return PenaltyDecision(now + dt.timedelta(days=max(1, ban_days)), "")
    raise ValueError(f"unknown ban {ban!r}")


@dataclass(frozen=True)
class PenaltyEvent:
    """A cancellation or no-show that may count: when it happened (the cancel time; a no-show: the slot's
    start), the period of its slot, and when it was recorded (to compare with the last penalty)."""
    at: dt.datetime
    period_key: str
    recorded_at: dt.datetime


def event_in_window(*, window: str, window_days: int, event: PenaltyEvent, trigger: PenaltyEvent) -> bool:
    """Does ``event`` fall in the rule's window as seen from the ``trigger`` (the event just recorded)?
    period: the same non-empty period; year: the same Beijing calendar year; days: the last N days."""
    if window == "period":
        return bool(trigger.period_key) and event.period_key == trigger.period_key
    if window == "year":
        return _local(event.at).year == _local(trigger.at).year
    if window == "days":
        return trigger.at - dt.timedelta(days=max(1, window_days)) < event.at <= trigger.at
    raise ValueError(f"unknown window {window!r}")


def events_counted(*, window: str, window_days: int, events: Iterable[PenaltyEvent], trigger: PenaltyEvent,
                   since: dt.datetime | None) -> int:
    """How many events count towards a rule: in its window and recorded after the party's last penalty under
    that rule (``since``): a penalty "uses up" the events that caused it, so lifting one starts afresh and a
    fourth cancellation after a three-cancellation ban does not ban twice."""
    return sum(1 for e in events
               if (since is None or e.recorded_at > since)
               and event_in_window(window=window, window_days=window_days, event=e, trigger=trigger))


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


# --- Seats ---------------------------------------------------------------------------------------------------------

# the statuses that hold a seat for good; a "held" booking holds one until its hold runs out (selectors.seat_taken)
SEAT_TAKEN = ("confirmed", "attended")


def slot_bookable(*, status: str, opens_at: dt.datetime, closes_at: dt.datetime, starts_at: dt.datetime,
                  now: dt.datetime) -> bool:
    """Does a slot take bookings now: open, inside its booking window, not started (what services._check_open
    lets through; selectors.bookable is the same test as a query)."""
    return status == "open" and opens_at <= now < closes_at and starts_at > now


# --- Input bounds (bad input must be a 4xx, never a database overflow) -------------------------------------------

FIRST_DAY = dt.date(2000, 1, 1)  # days outside this range are never bookable; refuse them before any query
LAST_DAY = dt.date(2099, 12, 31)


def day_ok(day: dt.date | None) -> bool:
    """A day pages and the API may look at (clock arithmetic near year 1 or 9999 overflows)."""
    return day is not None and FIRST_DAY <= day <= LAST_DAY


def citizen_cancel_block(*, status: str, cancel_until: dt.datetime, now: dt.datetime) -> str | None:
    """Why a citizen may not cancel their booking now (an error code), or None when they may: only a confirmed
    booking (a held one is released instead), and only before the slot's cancellation deadline. The one rule
    ``services.booking_cancel`` enforces and the pages offer the button from."""
    if status == "held":
        return "bookings.not_confirmed"
    if not BOOKING.allows(status, "cancelled"):
        return "bookings.not_cancellable"
    if now >= cancel_until:
        return "bookings.cancel_closed"
    return None


# --- Life cycles (services.common._end and the services move along these; the pages offer what they allow) -------

# A seat. First come: held → confirmed (or released / expired); ranked: created confirmed by the allocation.
# Confirmed → cancelled (citizen before the deadline, or staff), attended or no-show. Staff may cancel a hold too.
BOOKING = StateMachine("bookings.booking", {
    "held": ("confirmed", "released", "expired", "cancelled"),
    "confirmed": ("cancelled", "attended", "no_show"),
    "released": (), "expired": (), "cancelled": (), "attended": (), "no_show": (),
}, code="bookings.not_allowed", what=("预约", "The booking"))

# A ranked application: decided by the allocation, or withdrawn (by the citizen, or with its slot).
APPLICATION = StateMachine("bookings.application", {
    "pending": ("allocated", "unsuccessful", "withdrawn"),
    "allocated": (), "unsuccessful": (), "withdrawn": (),
}, code="bookings.not_pending", what=("预约申请", "The application"))

# A waiting-list entry: offered a held seat (accepted when confirmed, lapsed when the hold ends), or it lapses
# while waiting (booked elsewhere, banned), or is withdrawn.
WAITLIST = StateMachine("bookings.waitlist", {
    "waiting": ("offered", "lapsed", "withdrawn"),
    "offered": ("accepted", "lapsed", "withdrawn"),
    "accepted": (), "lapsed": (), "withdrawn": (),
}, code="bookings.waitlist_not_waiting", what=("候补记录", "The waiting-list entry"))

# A slot: a ranked one closes when its window passes and is allocated; any slot can be called off.
SLOT = StateMachine("bookings.slot", {
    "open": ("closed", "allocated", "cancelled"),
    "closed": ("allocated", "cancelled"),
    "allocated": ("cancelled",),
    "cancelled": (),
}, code="bookings.slot_unavailable", what=("预约场次", "The slot"))

# Bookings not at an end yet (held or confirmed): what pages list as current. (models.LIVE_BOOKING, the key's
# hold, also counts "attended": a seat used stays booked.)
BOOKING_RUNNING = frozenset(BOOKING.states - BOOKING.terminal)


# --- Which action each state allows (the services enforce these; the pages offer buttons from them) -------------

# What each refusal says (zh, en): the services raise it, the pages show it where the button would have been.
BLOCK_TEXTS = {
    "bookings.not_held": ("该预约不在待确认状态", "This booking is not waiting for confirmation"),
    "bookings.hold_expired": ("保留时间已过，名额已释放，请重新预约",
                              "The hold has run out and the seat was released; please book again"),
    "bookings.not_confirmed": ("该预约尚未确认，请选择放弃", "This booking is only held: release it"),
    "bookings.not_cancellable": ("该预约当前状态不能取消", "This booking cannot be cancelled now"),
    "bookings.cancel_closed": ("取消截止时间已过，不能取消", "The deadline for cancelling has passed"),
    "bookings.not_started": ("场次尚未开始，时段开始后可登记到场情况",
                             "The slot has not started yet: attendance can be marked once it starts"),
    "bookings.not_markable": ("只有预约成功的记录才能登记到场情况", "Only a confirmed booking can be marked"),
    "bookings.window_closed": ("预约已截止，不能撤回；分配成功后可在取消截止前取消",
                               "Booking has closed; once allocated you may cancel before the deadline"),
    "bookings.not_pending": ("该申请已不在排队中", "This application is no longer pending"),
}


def withdraw_block(*, status: str, closes_at: dt.datetime, now: dt.datetime) -> str | None:
    """Why a citizen may not withdraw a ranked application now, or None: a pending one while the booking window
    is open. What ``services.application_withdraw`` enforces."""
    if not APPLICATION.allows(status, "withdrawn"):
        return "bookings.not_pending"
    if now >= closes_at:
        return "bookings.window_closed"
    return None


def release_block(*, status: str, hold_expires_at: dt.datetime | None, now: dt.datetime) -> str | None:
    """Why a citizen may not let a held seat go now, or None: only a hold whose time has not run out (an expired
    one is already gone: the sweep ends it). What ``services.booking_release`` enforces."""
    if not BOOKING.allows(status, "released"):
        return "bookings.not_held"
    if hold_expires_at is None or hold_expires_at <= now:
        return "bookings.hold_expired"
    return None


def give_up_block(*, status: str, hold_expires_at: dt.datetime | None, cancel_until: dt.datetime,
                  now: dt.datetime) -> str | None:
    """A citizen's one "give up" button: a live hold is released, a confirmed booking cancelled before the
    deadline (``release_block`` / ``citizen_cancel_block``, the rules the two services enforce)."""
    if status == "held":
        return release_block(status=status, hold_expires_at=hold_expires_at, now=now)
    return citizen_cancel_block(status=status, cancel_until=cancel_until, now=now)


def staff_cancel_block(*, status: str) -> str | None:
    """Staff cancel a held or confirmed booking at any time (with a reason); nothing that has ended."""
    return None if BOOKING.allows(status, "cancelled") else "bookings.not_cancellable"


def mark_block(*, status: str, starts_at: dt.datetime, now: dt.datetime) -> str | None:
    """Why staff may not mark attendance (attended / no-show) now, or None: a confirmed booking, once its slot
    has started. What ``services.booking_mark`` enforces and the console offers the buttons from."""
    if not (BOOKING.allows(status, "attended") and BOOKING.allows(status, "no_show")):
        return "bookings.not_markable"
    if now < starts_at:
        return "bookings.not_started"
    return None
