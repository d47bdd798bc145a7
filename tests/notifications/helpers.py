"""Helpers for tests and browser journeys in this process (console SMS backend).

    from tests.notifications.helpers import last_code, last_sms, sms_outbox
    code = last_code("13900000000")        # the 6-digit code in the latest SMS to that number, or None

Inside a test wrapped in a transaction (``@pytest.mark.django_db`` without ``transaction=True``) Django never
runs on-commit hooks, so SMS would wait for a worker forever. Reading the outbox therefore first delivers the
SMS that are due, as a worker would (``deliver_due()``); in live-server journeys they have gone out already.
conftest.py calls ``clear_outbox()`` before every test.
"""
from __future__ import annotations

import datetime as dt
import re

from django.db import connection

from jiaoguan.core.errors import InvalidInput
from jiaoguan.core.identifiers import validate_phone
from jiaoguan.notifications.selectors import messages_due
from jiaoguan.notifications.services import message_deliver
from jiaoguan.notifications.sms import ConsoleBackend, SentSms

__all__ = ["SentSms", "clear_outbox", "deliver_due", "last_code", "last_sms", "sms_outbox"]

_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def clear_outbox() -> None:
    ConsoleBackend.clear()


def deliver_due() -> int:
    """Deliver every SMS that is due now, in this thread (what the worker and the sweep do). Returns how many
    were attempted; 0 without database access (a test without the django_db mark)."""
    try:
        connection.ensure_connection()
    except RuntimeError:  # pytest-django blocks database access in this test: nothing can be queued either
        return 0
    due = messages_due(grace=dt.timedelta(0))  # new messages at once: their after-commit dispatch never ran
    for message_id in due:
        message_deliver(message_id=message_id)
    return len(due)


def sms_outbox(*, deliver: bool = True) -> list[SentSms]:
    """Every SMS the console backend sent in this process since the last clear, oldest first."""
    if deliver:
        deliver_due()
    return ConsoleBackend.sent()


def _normal(phone: str) -> str:
    try:
        return validate_phone(phone)
    except InvalidInput:
        return str(phone)


def last_sms(phone: str) -> str | None:
    """The text of the latest SMS to ``phone`` (any common spelling: +86…, spaces), or None."""
    wanted = _normal(phone)
    for sms in reversed(sms_outbox()):
        if _normal(sms.phone) == wanted:
            return sms.text
    return None


def last_code(phone: str) -> str | None:
    """The 6-digit one-time code in the latest SMS to ``phone``, or None (no SMS, or the latest has no code)."""
    text = last_sms(phone)
    if text is None:
        return None
    match = _CODE.search(text)
    return match.group(1) if match else None
