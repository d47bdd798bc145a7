"""Pure rules of the eastern scenic areas (DOMAIN §6): quota split, slot times, entry windows, exemptions."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from jiaoguan.core import clock


def split_quota(total: int, parts: int) -> list[int]:
    """``total`` seats over ``parts`` slots as evenly as possible; the earlier slots take the remainder.
    The parts always add up to ``total``."""
    if parts <= 0:
        raise ValueError("parts must be positive")
    base, extra = divmod(max(0, total), parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def slot_times(*, day: dt.date, first: dt.time, minutes: int, count: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """``count`` back-to-back slots of ``minutes`` from ``first`` on ``day`` (local time), aware datetimes."""
    start = clock.local_datetime(day, first)
    step = dt.timedelta(minutes=minutes)
    return [(start + i * step, start + (i + 1) * step) for i in range(count)]


def slots_fit_day(*, first: dt.time, minutes: int, count: int) -> bool:
    """All slots end by midnight of the same day."""
    return first.hour * 60 + first.minute + minutes * count <= 24 * 60


def entry_ends(*, slot_ends_at: dt.datetime, delayed: bool, delay_hours: int) -> dt.datetime:
    """Enter within the slot; a reported delay extends the entry window by ``delay_hours``."""
    return slot_ends_at + dt.timedelta(hours=delay_hours) if delayed else slot_ends_at


def in_window(*, at: dt.datetime, starts_at: dt.datetime, ends_at: dt.datetime) -> bool:
    """May a car enter at ``at``? From the slot's start up to (and excluding) the end of its entry window."""
    return starts_at <= at < ends_at


def may_report_delay(*, now: dt.datetime, slot_ends_at: dt.datetime, already: bool) -> bool:
    """Once per booking, before the slot ends."""
    return not already and now < slot_ends_at


def delay_block(*, status: str, delay_reported: bool, now: dt.datetime, slot_ends_at: dt.datetime) -> str | None:
    """Why a delay may not be reported now (an error code), or None: a confirmed booking, once, before the slot
    ends. What ``services.booking_delay`` enforces and the page offers 延误报备 from."""
    if status != "confirmed":
        return "eastern.delay_not_confirmed"
    if delay_reported:
        return "eastern.delay_once"
    if not may_report_delay(now=now, slot_ends_at=slot_ends_at, already=False):
        return "eastern.delay_too_late"
    return None


def booking_delay_block(area_booking, *, now: dt.datetime) -> str | None:
    """``delay_block`` of an AreaBooking (with its engine booking): the one call of the service and the page."""
    return delay_block(status=area_booking.booking.status, delay_reported=area_booking.delay_reported_at is not None,
                       now=now, slot_ends_at=area_booking.slot_ends_at)


def is_merchant(*, role: str, enterprise_id: int | None) -> bool:
    """Hotels and merchants (an enterprise account of a company) book from the merchants' quota: what
    ``services.merchant_book`` enforces and the day page offers the merchants' form from."""
    return role == "enterprise" and bool(enterprise_id)


def merchant_user(user) -> bool:
    return is_merchant(role=getattr(user, "role", ""), enterprise_id=getattr(user, "enterprise_id", None))


@dataclass(frozen=True)
class Exemption:
    code: str
    zh: str
    en: str


EXEMPT_KIND = Exemption("exempt_kind", "该类车辆（客车、货车等）无需预约", "Vehicles of this kind (buses, trucks…) need no booking")
EXEMPT_USE = Exemption("exempt_use", "出租车、公交车、警用及公务等车辆无需预约",
                       "Taxis, buses, emergency and official vehicles need no booking")
EXEMPT_PLATE = Exemption("exempt_plate_type", "大型车辆无需预约", "Large vehicles need no booking")
EXEMPT_SEATS = Exemption("exempt_seats", "10座以上车辆按客车管理，无需预约",
                         "Vehicles with 10 or more seats count as buses and need no booking")
EXEMPT_LOCAL = Exemption("exempt_local", "已登记的本地车辆无需预约", "Registered local vehicles need no booking")


def exemption_for(*, kind: str | None, use: str | None, plate_type: str, listed: bool, exempt_kinds,
                  exempt_uses, exempt_plate_types) -> Exemption | None:
    """Why a vehicle needs no booking, or None. ``kind``/``use`` are the register's (None for a vehicle from
    another city, which is judged by its plate type); ``listed``: on the area's list of registered local
    vehicles."""
    if listed:
        return EXEMPT_LOCAL
    if kind is not None and kind in exempt_kinds:
        return EXEMPT_KIND
    if use is not None and use in exempt_uses:
        return EXEMPT_USE
    if kind is None and plate_type in exempt_plate_types:
        return EXEMPT_PLATE
    return None


def default_period_key(day: dt.date) -> str:
    """Without a holiday name, a weekend counts as its own period: "2026-w47"."""
    year, week, _ = day.isocalendar()
    return f"{year}-w{week:02d}"
