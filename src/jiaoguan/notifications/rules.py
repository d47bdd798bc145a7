"""Pure rules of message delivery: template placeholders and rendering, languages, the status life cycle,
backoff. No database, no clock: callers pass ``now``.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping

from django.utils import timezone

from jiaoguan.core.i18n import is_english
from jiaoguan.core.states import StateMachine

# --- Templates ------------------------------------------------------------------------------------------------
# Placeholders are ``{name}`` and nothing else: no attribute access, indexing, conversions or format specs, so a
# template edited in the admin can never reach into Python objects (str.format would allow "{x.__class__}").
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_BRACE = re.compile(r"[{}]")

# Chinese SMS must start with the sender's signature in 【】 (the carriers' rule); English text gets the brand too.
SMS_SIGNATURES = {"zh-hans": "【交管】", "en": "[Jiaoguan] "}

LANGUAGES = ("zh-hans", "en")
DEFAULT_LANGUAGE = "zh-hans"


class TemplateSyntaxProblem(ValueError):
    """A template text that is not well formed (stray brace, unknown placeholder)."""


def placeholders(text: str) -> list[str]:
    """The placeholder names in ``text``, in order of first appearance."""
    seen: list[str] = []
    for name in PLACEHOLDER.findall(text or ""):
        if name not in seen:
            seen.append(name)
    return seen


def check_text(text: str, *, allowed: Iterable[str]) -> None:
    """Raise TemplateSyntaxProblem unless every brace belongs to a ``{name}`` whose name is in ``allowed``."""
    allowed = set(allowed)
    stray = _BRACE.search(PLACEHOLDER.sub("", text or ""))
    if stray:
        raise TemplateSyntaxProblem(
            f"stray '{stray.group()}' at position {stray.start()}: placeholders are written {{name}}"
        )
    unknown = [name for name in placeholders(text) if name not in allowed]
    if unknown:
        raise TemplateSyntaxProblem(
            f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)}; "
            f"this template takes {', '.join(sorted(allowed)) or 'no parameters'}"
        )


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # not strftime("%B"): that follows the process locale


def format_value(value: object, language: str) -> str:
    """A parameter as text: dates the way each language writes them, everything else with str()."""
    if isinstance(value, dt.datetime):
        local = timezone.localtime(value if timezone.is_aware(value) else timezone.make_aware(value))
        if language == "en":
            return f"{local.day} {_MONTHS[local.month - 1]} {local.year} {local:%H:%M}"
        return f"{local.year}年{local.month}月{local.day}日{local:%H:%M}"
    if isinstance(value, dt.date):
        if language == "en":
            return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
        return f"{value.year}年{value.month}月{value.day}日"
    return str(value)


def render(text: str, params: Mapping[str, object], *, language: str) -> str:
    """Replace each ``{name}`` once, literally: a value that itself contains braces is not expanded again."""

    def one(match: re.Match) -> str:
        return format_value(params[match.group(1)], language)

    return PLACEHOLDER.sub(one, text or "")


def sms_text(body: str, *, language: str) -> str:
    """The SMS as it leaves: the signature, then the body on one line."""
    return SMS_SIGNATURES[language] + " ".join((body or "").split())


def normalise_language(language: str | None) -> str:
    """"en", "en-us", "EN" → "en"; anything else (None, "zh", "zh-hans", "zh-cn") → "zh-hans"."""
    return "en" if is_english((language or "").strip()) else DEFAULT_LANGUAGE


def other_language(language: str | None) -> str:
    """The other of the two languages: "en" ↔ "zh-hans"."""
    return DEFAULT_LANGUAGE if normalise_language(language) == "en" else "en"


def split_names(value: str) -> list[str]:
    """ "code, minutes" → ["code", "minutes"]."""
    return [n.strip() for n in (value or "").split(",") if n.strip()]


# --- Status life cycle ----------------------------------------------------------------------------------------
CREATED, SENDING, DELIVERED, FAILED = "created", "sending", "delivered", "failed"

# created → sending (an attempt starts); sending → delivered; sending → created (retryable failure, to be tried
# again at next_attempt_at); sending → failed (permanent failure or attempts used up); sending → sending (a
# crashed attempt is taken over, see SENDING_STALE_AFTER). delivered and failed are final.
MESSAGES = StateMachine("notifications.message", {
    CREATED: {SENDING},
    SENDING: {SENDING, DELIVERED, CREATED, FAILED},
    DELIVERED: set(),
    FAILED: set(),
}, what=("消息", "The message"))

# An attempt still "sending" after this long belongs to a worker that died (an HTTP attempt is bounded by
# timeout × retries × providers, seconds to a minute): the sweep takes it over.
SENDING_STALE_AFTER = dt.timedelta(minutes=10)
BACKOFF_CAP = dt.timedelta(hours=6)
# A new message is handed to the delivery task after commit; the sweep only steps in for one that is still
# untried this long after it was due (its dispatch was lost: broker down, process killed), so a busy queue does
# not get the same new message a second time every sweep. Retries after backoff are the sweep's at once.
DISPATCH_GRACE = dt.timedelta(seconds=60)


def backoff(attempts: int, *, base_seconds: int) -> dt.timedelta:
    """Wait after the ``attempts``-th failed attempt: base × 2^(attempts−1), capped at six hours."""
    seconds = base_seconds * 2 ** max(attempts - 1, 0)  # an int: exact however large, then capped
    return dt.timedelta(seconds=min(seconds, BACKOFF_CAP.total_seconds()))


def is_due(*, status: str, next_attempt_at: dt.datetime | None, sent_at: dt.datetime | None,
           now: dt.datetime) -> bool:
    """May an attempt start now? Queued and its time has come, or stuck in "sending" past the stale limit."""
    if status == CREATED:
        return next_attempt_at is None or next_attempt_at <= now
    if status == SENDING:
        return sent_at is None or sent_at <= now - SENDING_STALE_AFTER
    return False


def after_failure(*, attempts: int, retryable: bool, max_attempts: int, base_seconds: int,
                  now: dt.datetime) -> tuple[str, dt.datetime | None]:
    """Where a failed attempt leads: (CREATED, when to try again) or (FAILED, None)."""
    if not retryable or attempts >= max_attempts:
        return FAILED, None
    return CREATED, now + backoff(attempts, base_seconds=base_seconds)
