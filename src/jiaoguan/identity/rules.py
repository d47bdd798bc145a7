"""Pure rules of the identity app: no database, no clock (callers pass ``now``). Tested alone.

- rate strings ("5/h", "1/m", "20/h", "10/15m") as django-ratelimit writes them;
- the sliding window that decides whether one more event fits in a rate;
- the login lockout decision;
- whether an account's phone is the person's phone on file (预留手机号);
- which vehicles may be bound by someone who does not own them (DOMAIN §1);
- the life cycle of a binding (the allowed moves) and whether a binding still stands after the registry changed;
- the shape of staff usernames;
- how long a bearer token lives (a staff member's no longer than a console session) and whose tokens an
  account may see and revoke.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from jiaoguan.core.errors import InvalidInput
from jiaoguan.core.identifiers import validate_phone  # pure: a format check, no database
from jiaoguan.core.states import StateMachine
from jiaoguan.identity.roles import PUBLIC_ROLES, STAFF_ROLES

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.limit}/{self.seconds}s"


def parse_rate(text: str) -> Rate:
    """'5/h' -> Rate(5, 3600); '10/15m' -> Rate(10, 900). The syntax of django-ratelimit, so the same setting
    values work with either. Raises ValueError on anything else."""
    m = _RATE.match(text or "")
    if not m:
        raise ValueError(f"not a rate: {text!r} (write e.g. '5/h', '1/m', '10/15m')")
    count, multi, unit = m.groups()
    seconds = _PERIODS[unit] * (int(multi) if multi else 1)
    if seconds <= 0:
        raise ValueError(f"not a rate: {text!r}")
    return Rate(int(count), seconds)


def window_admits(*, events: Sequence[float], now: float, rate: Rate) -> tuple[bool, int]:
    """Sliding window: may one more event happen at ``now`` given earlier event times (epoch seconds)?

    Returns (admitted, retry_after_seconds). Only events in (now - period, now] count, so a limit of 1/m
    means "one per 60 seconds since the last", never two a second apart across a window boundary.
    """
    recent = sorted(t for t in events if now - rate.seconds < t <= now)
    if len(recent) < rate.limit:
        return True, 0
    if rate.limit == 0:
        return False, rate.seconds
    # The oldest of the last `limit` events must leave the window before another fits.
    oldest_blocking = recent[len(recent) - rate.limit]
    retry = oldest_blocking + rate.seconds - now
    return False, max(1, math.ceil(retry))


@dataclass(frozen=True)
class FailureOutcome:
    failed_logins: int
    locked_until: dt.datetime | None

    @property
    def locked(self) -> bool:
        return self.locked_until is not None


def login_failure(*, failed_logins: int, now: dt.datetime, max_failures: int, lock_minutes: int) -> FailureOutcome:
    """One more failed login. On reaching ``max_failures`` the account locks for ``lock_minutes`` and the
    counter starts again from zero (so after the lock ends the user has the full number of tries again)."""
    count = failed_logins + 1
    if count >= max_failures:
        return FailureOutcome(0, now + dt.timedelta(minutes=lock_minutes))
    return FailureOutcome(count, None)


def is_locked(*, locked_until: dt.datetime | None, now: dt.datetime) -> bool:
    return locked_until is not None and locked_until > now


# --- The phone on file (预留手机号) -------------------------------------------------------------------------------

def _phone_normal(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return validate_phone(value)
    except InvalidInput:
        return None


def phone_on_file_matches(*, on_file: str | None, account: str | None) -> bool:
    """Is the account's phone the person's phone on file? Both are compared in their normal form (11 digits, so
    "+86 138 0013 8000" is "13800138000"). No (or no valid) phone on file matches nothing."""
    a, b = _phone_normal(on_file), _phone_normal(account)
    return a is not None and a == b


# --- Binding someone else's vehicle (DOMAIN §1) ---------------------------------------------------------------

# "non-commercial small cars only": small passenger cars (小型载客汽车) in private use, with small-car plates
# (blue 02 or green 52). Company cars, taxis, learner cars, trucks, buses and motorcycles are handled at a window.
BINDABLE_KINDS = frozenset({"small_car"})
BINDABLE_USES = frozenset({"private"})
BINDABLE_PLATE_TYPES = frozenset({"02", "52"})
UNBINDABLE_STATUSES = frozenset({"scrapped", "transferred", "stolen"})


def other_vehicle_bindable(*, kind: str, use: str, plate_type: str, status: str, owned_by_person: bool) -> bool:
    """May a user bind this vehicle they do not own (with the owner's SMS confirmation)?"""
    return (
        owned_by_person
        and kind in BINDABLE_KINDS
        and use in BINDABLE_USES
        and plate_type in BINDABLE_PLATE_TYPES
        and status not in UNBINDABLE_STATUSES
    )


def seats_left(*, max_users: int, other_users_bound: int) -> int:
    """Users who may still bind a vehicle: the owner always takes one of ``max_users`` places, whether or not
    the owner has an account."""
    return max(0, max_users - 1 - other_users_bound)


# --- The life cycle of a binding --------------------------------------------------------------------------------

# A binding starts "pending" (someone else's vehicle, waiting for the owner's code) or "active" (own vehicle).
# ended and expired are final: binding again makes a new row. Every status change in the services goes through
# one function (services.bindings._binding_move) that checks this machine.
BINDINGS = StateMachine("identity.binding", {
    "pending": {"active", "ended", "expired"},
    "active": {"ended"},
    "ended": set(),
    "expired": set(),
}, code="identity.binding_state", what=("该绑定记录", "This binding"))
BINDING_START = frozenset({"pending", "active"})
VEHICLE_GONE_STATUSES = frozenset({"scrapped", "transferred"})


def binding_stands(*, kind: str, user_person_id: int | None, authorised_by: int | None, owner_id: int | None,
                   vehicle_status: str) -> bool:
    """Does a live binding still stand with the registry as it is now?

    - a vehicle scrapped or transferred out ends every binding;
    - an own binding stands while the user is the owner;
    - someone else's binding stands while the owner who authorised it still owns the vehicle (a new owner has
      not agreed to it), or when the user has since become the owner (it then turns into an own binding).
    """
    if vehicle_status in VEHICLE_GONE_STATUSES or owner_id is None:
        return False
    if user_person_id is not None and user_person_id == owner_id:
        return True
    if kind == "own":
        return False
    return authorised_by is not None and authorised_by == owner_id


# --- Staff usernames ------------------------------------------------------------------------------------------

_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{2,31}$")


def staff_username_ok(username: str) -> bool:
    """3–32 characters, starting with a letter: letters, digits, _ . -. Starting with a letter keeps a username
    from ever looking like a phone number, so a login name is never ambiguous."""
    return bool(_USERNAME.match(username or ""))


# --- bearer tokens ------------------------------------------------------------------------------------------------

# A token's last use is written at most this often (not on every call), so "last used" is this precise.
TOKEN_USE_NOTED_EVERY = dt.timedelta(minutes=5)


def token_ends_at(*, role: str, created_at: dt.datetime, expires_at: dt.datetime | None, session_seconds: int,
                  public_days: int) -> dt.datetime:
    """When a bearer token of an account of ``role``, issued at ``created_at``, stops working.

    A citizen's or an enterprise's lives ``public_days`` (JIAOGUAN_TOKEN_TTL_DAYS); any other account's (staff,
    and a role this code does not know: fail short) no longer than a console session, ``session_seconds``
    (SESSION_COOKIE_AGE, the one setting for both). The stored ``expires_at`` can only shorten this, so a token
    issued under a longer setting, or before the account became staff, ends by the rule of today."""
    if role in PUBLIC_ROLES:
        limit = created_at + dt.timedelta(days=public_days)
    else:
        limit = created_at + dt.timedelta(seconds=session_seconds)
    return limit if expires_at is None else min(limit, expires_at)


def token_manageable(*, viewer_id: int, viewer_may_manage_staff: bool, holder_id: int, holder_role: str) -> bool:
    """May this account see and revoke the tokens of that one? Its own always; a staff member's when it may
    manage staff (roles "staff.manage": an administrator); nobody else's (a citizen's tokens are the citizen's)."""
    if viewer_id == holder_id:
        return True
    return viewer_may_manage_staff and holder_role in STAFF_ROLES


# --- the phone on file changed online (identity.services.phone_on_file) -----------------------------------------

PHONE_FILE_CHANGES = StateMachine("identity.phone_file", {
    "cooling": {"applied", "cancelled", "objected", "lapsed"},
    "applied": set(),
    "cancelled": set(),
    "objected": set(),
    "lapsed": set(),
}, code="identity.phone_file_state", what=("该预留手机号变更", "This change of the phone on file"))

OBJECTION_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read off an SMS and typed on a phone
OBJECTION_LENGTH = 10  # 50 bits: with the per-IP limit, not guessable within a cooling-off period


def phone_file_effective_at(*, requested_at: dt.datetime, cooling_hours: int) -> dt.datetime:
    """When a change of the phone on file asked for at ``requested_at`` takes effect."""
    return requested_at + dt.timedelta(hours=max(0, cooling_hours))


def phone_file_blocked_until(*, objected_at: dt.datetime | None, block_days: int) -> dt.datetime | None:
    """After the old number stopped a change, online changes are refused until this moment (a window still can)."""
    if objected_at is None:
        return None
    return objected_at + dt.timedelta(days=max(0, block_days))


def objection_code_normal(value: str | None) -> str | None:
    """The objection code as typed (any case, spaces or dashes) in its normal form, or None if it cannot be one."""
    text = "".join(ch for ch in str(value or "").upper() if ch not in " -\t")
    if len(text) != OBJECTION_LENGTH or any(ch not in OBJECTION_ALPHABET for ch in text):
        return None
    return text


def objection_code_display(code: str) -> str:
    """"ABCDE-FGHJK": easier to read out and type."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"
