"""Reads of messages: a user's inbox, and what the delivery sweep should pick up."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from django.db import connection
from django.db.models import Q, QuerySet

from jiaoguan.core import clock, rows
from jiaoguan.core.errors import not_found
from jiaoguan.notifications import rules
from jiaoguan.notifications.models import Message


def _inbox(user) -> QuerySet[Message]:
    if user is None or not getattr(user, "is_authenticated", False):
        return Message.objects.none()
    return Message.objects.filter(recipient=user, channel=Message.Channel.INBOX, status=Message.Status.DELIVERED)


def inbox_for(*, user) -> QuerySet[Message]:
    """The user's inbox, newest first."""
    return _inbox(user).order_by("-created_at", "-id")


@dataclass(frozen=True)
class InboxEntry:
    """One inbox message as its reader sees it: subject and text in the reader's language."""

    pk: int
    template_code: str
    subject: str
    body: str
    created_at: dt.datetime
    is_read: bool


def inbox_entries(*, user, language: str | None) -> list[InboxEntry]:
    """The user's inbox, newest first, each message in ``language`` (see Message.text_in)."""
    entries = []
    for m in inbox_for(user=user):
        subject, body = m.text_in(language)
        entries.append(InboxEntry(pk=m.pk, template_code=m.template_code, subject=subject, body=body,
                                  created_at=m.created_at, is_read=m.is_read))
    return entries


@cache
def _unread_sql() -> str:
    qn = connection.ops.quote_name
    return (f"SELECT COUNT(*) FROM {qn(Message._meta.db_table)} m WHERE m.recipient_id = %s "
            f"AND m.channel = %s AND m.status = %s AND m.read_at IS NULL")


def unread_count(*, user) -> int:
    """The unread messages of the user's inbox (every page's badge): one prepared hand-written count
    (``core.rows``), the same rows as ``_inbox(user).filter(read_at__isnull=True)``."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    row = rows.fetchone(_unread_sql(), [user.pk, Message.Channel.INBOX.value, Message.Status.DELIVERED.value])
    return int(row[0]) if row else 0


def message_get_for(*, user, message_id) -> Message:
    """One of the user's inbox messages; anyone else's (or no such id) → core.errors.not_found()."""
    try:
        pk = int(message_id)
    except (TypeError, ValueError):
        raise not_found("消息", "message") from None
    message = _inbox(user).filter(pk=pk).first()
    if message is None:
        raise not_found("消息", "message")
    return message


def messages_due(*, limit: int = 500, grace: dt.timedelta = rules.DISPATCH_GRACE) -> list[int]:
    """SMS the sweep should hand to the delivery task, oldest first: retries whose backoff is over; new messages
    still untried ``grace`` after they were due (a lost dispatch); attempts stuck in "sending" longer than
    rules.SENDING_STALE_AFTER (their worker died)."""
    now = clock.now()
    return list(
        Message.objects.filter(channel=Message.Channel.SMS)
        .filter(
            Q(status=Message.Status.CREATED, attempts__gt=0, next_attempt_at__lte=now)
            | Q(status=Message.Status.CREATED, attempts=0, next_attempt_at__lte=now - grace)
            | Q(status=Message.Status.SENDING, sent_at__lte=now - rules.SENDING_STALE_AFTER)
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def failed_messages() -> QuerySet[Message]:
    return Message.objects.filter(status=Message.Status.FAILED).order_by("-failed_at", "-id")
