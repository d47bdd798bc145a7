"""Sending messages and their delivery life cycle.

``message_send`` renders a template and writes one ``Message`` per channel in the caller's transaction; SMS
delivery is handed to a Celery task after commit (eager when there is no broker), inbox messages are delivered
at once. ``message_deliver`` is what the task runs: lock the row, start an attempt, call the SMS backend outside
the transaction, record the outcome. A periodic sweep (tasks.py) re-dispatches queued messages whose time has
come and attempts stuck in "sending" (a worker that died).

The status moves only through the four ``message_mark_*`` transition functions below.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import NotFound, not_found
from jiaoguan.core.identifiers import validate_phone
from jiaoguan.core.masking import mask_phone
from jiaoguan.identity import selectors as identity
from jiaoguan.notifications import defaults, rules
from jiaoguan.notifications.models import Message, MessageTemplate
from jiaoguan.notifications.sms import SendResult, SmsBackend, SmsSendError, get_backend
from jiaoguan.registry import selectors as registry

log = logging.getLogger(__name__)


# --- Programming errors -------------------------------------------------------------------------------------------
# These are mistakes in the calling code or its data, not a citizen's: they are not DomainErrors (which become a
# 4xx with a message to the citizen) but plain exceptions that surface as a 500 and in the logs.

class NotificationError(ValueError):
    pass


class UnknownTemplate(NotificationError):
    pass


class MissingParams(NotificationError):
    pass


class NoRecipient(NotificationError):
    pass


class InvalidTransition(RuntimeError):
    pass


# --- Templates ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TemplateText:
    code: str
    params: tuple[str, ...]
    secret: tuple[str, ...]
    subject: dict[str, str]
    body: dict[str, str]
    active: bool

    @classmethod
    def of_row(cls, row: MessageTemplate) -> TemplateText:
        return cls(row.code, tuple(row.param_names), tuple(row.secret_names),
                   {"zh-hans": row.subject_zh, "en": row.subject_en}, {"zh-hans": row.body_zh, "en": row.body_en},
                   row.active)

    @classmethod
    def of_default(cls, d: defaults.DefaultTemplate) -> TemplateText:
        return cls(d.code, d.params, d.secret, {"zh-hans": d.subject_zh, "en": d.subject_en},
                   {"zh-hans": d.body_zh, "en": d.body_en}, True)


def template_text(*, code: str) -> TemplateText:
    """The template as staff last edited it, else the built-in default (see defaults.py)."""
    row = MessageTemplate.objects.filter(code=code).first()
    if row is not None:
        return TemplateText.of_row(row)
    if code in defaults.BY_CODE:
        return TemplateText.of_default(defaults.BY_CODE[code])
    known = sorted(set(defaults.BY_CODE) | set(MessageTemplate.objects.values_list("code", flat=True)))
    raise UnknownTemplate(f"no message template {code!r}; known templates: {', '.join(known)}")


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    body: str


def message_render(*, template: str, params: Mapping[str, object], language: str | None = None) -> Rendered:
    """Render a template in a language (zh-hans unless "en…"); every declared parameter must be given."""
    return _render(template_text(code=template), params, language)


def _render(tpl: TemplateText, params: Mapping[str, object], language: str | None) -> Rendered:
    missing = [name for name in tpl.params if params.get(name) in (None, "")]
    if missing:
        raise MissingParams(
            f"message template {tpl.code!r} needs {', '.join(tpl.params)}; missing {', '.join(missing)}"
        )
    lang = rules.normalise_language(language)
    try:
        return Rendered(lang, rules.render(tpl.subject[lang], params, language=lang),
                        rules.render(tpl.body[lang], params, language=lang))
    except KeyError as exc:  # a row edited outside the admin's validation uses an undeclared placeholder
        raise MissingParams(f"message template {tpl.code!r} uses {{{exc.args[0]}}}, which was not passed") from None


def _storable(params: Mapping[str, object], secret: Sequence[str]) -> dict:
    out: dict = {}
    for name, value in params.items():
        if name in secret:
            continue  # one-time codes never reach the database in clear (the body is encrypted)
        out[name] = value if isinstance(value, (str, int, float, bool, dt.date)) or value is None else str(value)
    return out


# --- Sending ------------------------------------------------------------------------------------------------------

def message_send(*, template: str, params: dict, phone: str | None = None, user=None,
                 channels: Sequence[str] = ("sms",), language: str | None = None) -> list[Message]:
    """Write one message per channel in the caller's transaction and deliver it: SMS by a task after commit,
    inbox at once. Language: ``language``, else the user's preferred language, else zh-hans.

    An inactive template sends nothing (returns []). Unknown template, missing parameter, no phone for SMS or
    no user for the inbox: a NotificationError (the caller's bug)."""
    channels = tuple(channels)
    if not channels or len(set(channels)) != len(channels) or not set(channels) <= set(Message.Channel.values):
        raise NotificationError(f"channels must be distinct values of {Message.Channel.values}, not {channels!r}")
    tpl = template_text(code=template)
    rendered = _render(tpl, params, language or getattr(user, "preferred_language", None))
    if not tpl.active:
        log.info("message template %s is switched off: nothing sent", template)
        return []
    if "inbox" in channels and (user is None or user.pk is None):
        raise NoRecipient(f"an inbox message ({template}) needs a saved user")
    sms_phone = None
    if "sms" in channels:
        raw = phone or getattr(user, "phone", None)
        if not raw:
            raise NoRecipient(f"an SMS ({template}) needs a phone number or a user with one")
        sms_phone = validate_phone(raw)

    # The inbox shows a message in its reader's current language: render the other language now, with the same
    # template and parameters, so a reader who switches language reads the same message in theirs.
    alt = _render(tpl, params, rules.other_language(rendered.language)) if "inbox" in channels else None
    now = clock.now()
    stored = _storable(params, tpl.secret)
    created: list[Message] = []
    with transaction.atomic():
        for channel in channels:
            is_sms = channel == Message.Channel.SMS
            message = Message.objects.create(
                recipient=user if user is not None and user.pk is not None else None,
                phone=sms_phone if is_sms else None,
                template_code=template,
                params=stored,
                channel=channel,
                language=rendered.language,
                subject=rendered.subject[:120],
                body=rules.sms_text(rendered.body, language=rendered.language) if is_sms else rendered.body,
                alt_subject="" if is_sms or alt is None else alt.subject[:120],
                alt_body=None if is_sms or alt is None else alt.body,
                next_attempt_at=now,  # status: the model's default, created
                created_at=now,
            )
            if not is_sms:
                # The inbox is our own table: writing the row is the delivery.
                message_mark_sending(message=message, now=now)
                message_mark_delivered(message=message, result=SendResult("inbox", str(message.pk)), now=now)
            created.append(message)
        sms_ids = [m.pk for m in created if m.channel == Message.Channel.SMS]
        if sms_ids:
            transaction.on_commit(lambda: messages_dispatch(message_ids=sms_ids))
    return created


def notice_to_person(*, person_id: int | None, template: str, params: dict, sms: bool = True) -> list[Message]:
    """A notice about a registry person's own record (a decision on their licence, a payment they owe or made):
    an inbox message to their account — only while the account may see the person's records (its phone is the
    phone on file, identity.selectors.records_visible) — and an SMS to the phone on file (预留手机号). A person
    with neither gets nothing. Call it from an outbox handler, after the change has committed."""
    if person_id is None:
        return []
    try:
        person = registry.person_get(person_id=person_id)
    except NotFound:
        return []
    account = identity.account_of_person(person_id=person.pk)
    if account is not None and not identity.records_visible(user=account):
        account = None
    phone = person.phone if sms else None
    if account is not None:
        channels = ("inbox", "sms") if phone else ("inbox",)
        return message_send(template=template, params=params, user=account, phone=phone, channels=channels)
    if phone:
        return message_send(template=template, params=params, phone=phone, channels=("sms",))
    return []


def messages_dispatch(*, message_ids: Sequence[int]) -> None:
    """Hand messages to the delivery task. A broker outage loses nothing: the sweep finds them again."""
    from jiaoguan.notifications.tasks import message_deliver_task  # cycle: notifications.tasks imports services

    for n, message_id in enumerate(message_ids):
        try:
            message_deliver_task.delay(message_id)
        except Exception:  # one failed publish is enough: the caller does not wait for the broker once per row
            log.exception("could not dispatch messages %s; the sweep will retry them", list(message_ids[n:]))
            return


def message_deliver(*, message_id: int, backend: SmsBackend | None = None) -> str:
    """One delivery attempt of an SMS, safe to run any number of times at once: the row is locked, the attempt
    starts only if the message is due (queued and its time has come, or stuck in "sending"), and the provider
    is called outside the transaction. Returns the status afterwards, or "" when there was nothing to do."""
    now = clock.now()
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, channel=Message.Channel.SMS)
            .first()
        )
        if message is None or not rules.is_due(status=message.status, next_attempt_at=message.next_attempt_at,
                                               sent_at=message.sent_at, now=now):
            return ""
        message_mark_sending(message=message, now=now)
        attempt = message.attempts
        phone, text = message.phone, message.body
        # core's EncryptedField types every value str | None: an SMS has a phone (notif_msg_sms_has_phone) and
        # every message a body (NOT NULL)
        assert phone is not None and text is not None

    backend = backend or get_backend()
    try:
        result = backend.send(phone, text, reference=str(message_id))
    except SmsSendError as exc:
        error, retryable = f"{type(exc).__name__}: {exc}", exc.retryable
    except Exception as exc:  # a bug or an unforeseen library error: retry, and fail visibly in the end
        log.exception("SMS backend raised while sending message %s", message_id)
        error, retryable = f"{type(exc).__name__}: {exc}", True
    else:
        with transaction.atomic():
            message = Message.objects.select_for_update().get(pk=message_id)
            if message.status != Message.Status.SENDING:
                log.warning("message %s was delivered but is now %s; left as it is", message_id, message.status)
                return message.status
            message_mark_delivered(message=message, result=result, now=clock.now())
            return message.status

    log.warning("SMS %s to %s: attempt %s failed (%s): %s", message_id, mask_phone(phone), attempt,
                "retryable" if retryable else "permanent", error)
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_id)
        if message.status != Message.Status.SENDING or message.attempts != attempt:
            return message.status  # another worker took the message over meanwhile; its outcome counts
        status, next_at = rules.after_failure(
            attempts=message.attempts, retryable=retryable, max_attempts=settings.JIAOGUAN_DELIVERY_MAX_ATTEMPTS,
            base_seconds=settings.JIAOGUAN_DELIVERY_BACKOFF_SECONDS, now=clock.now(),
        )
        if status == Message.Status.FAILED:
            message_mark_failed(message=message, error=error, now=clock.now())
        else:
            assert next_at is not None  # rules.after_failure: a retry comes with its time
            message_mark_retry(message=message, error=error, next_attempt_at=next_at, now=clock.now())
        return message.status


# --- The life cycle: one function per transition, nothing else assigns status -----------------------------------

def _move(message: Message, to: str) -> None:
    if not rules.MESSAGES.allows(message.status, to):
        raise InvalidTransition(f"message {message.pk}: {message.status} → {to} is not allowed")
    message.status = to


def message_mark_sending(*, message: Message, now: dt.datetime) -> None:
    """created (due) or sending (stale: a dead worker's attempt) → sending; counts the attempt."""
    if not rules.is_due(status=message.status, next_attempt_at=message.next_attempt_at, sent_at=message.sent_at,
                        now=now):
        raise InvalidTransition(f"message {message.pk} is {message.status} and not due at {now.isoformat()}")
    _move(message, Message.Status.SENDING)
    message.attempts += 1
    message.sent_at = now
    message.save(update_fields=["status", "attempts", "sent_at"])


def message_mark_delivered(*, message: Message, result: SendResult, now: dt.datetime) -> None:
    """sending → delivered: the provider (or the inbox) accepted it."""
    _move(message, Message.Status.DELIVERED)
    message.provider = result.provider[:120]
    message.provider_message_id = result.provider_message_id[:120]
    message.delivered_at = now
    message.next_attempt_at = None
    message.save(update_fields=["status", "provider", "provider_message_id", "delivered_at", "next_attempt_at"])


def message_mark_retry(*, message: Message, error: str, next_attempt_at: dt.datetime, now: dt.datetime) -> None:
    """sending → created: a retryable failure; the sweep tries again at ``next_attempt_at``."""
    _move(message, Message.Status.CREATED)
    if next_attempt_at <= now:
        raise InvalidTransition("a retry must wait: next_attempt_at is not after now")
    message.next_attempt_at = next_attempt_at
    message.last_error = error[:2000]
    message.save(update_fields=["status", "next_attempt_at", "last_error"])


def message_mark_failed(*, message: Message, error: str, now: dt.datetime) -> None:
    """sending → failed: a permanent failure or the last attempt; visible to staff in the admin."""
    _move(message, Message.Status.FAILED)
    message.failed_at = now
    message.next_attempt_at = None
    message.last_error = error[:2000]
    message.save(update_fields=["status", "failed_at", "next_attempt_at", "last_error"])


# --- Inbox --------------------------------------------------------------------------------------------------------

def message_mark_read(*, user, message_id: int) -> Message:
    """Mark one of the user's inbox messages read (idempotent). Someone else's id → not found."""
    try:
        pk = int(message_id)
    except (TypeError, ValueError):
        raise not_found("消息", "message") from None
    if user is None or not getattr(user, "is_authenticated", False):
        raise not_found("消息", "message")
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(pk=pk, recipient=user, channel=Message.Channel.INBOX, status=Message.Status.DELIVERED)
            .first()
        )
        if message is None:
            raise not_found("消息", "message")
        if message.read_at is None:
            message.read_at = clock.now()
            message.save(update_fields=["read_at"])
    return message


# --- Templates (admin) -------------------------------------------------------------------------------------------

TEMPLATE_EDITABLE = ("subject_zh", "subject_en", "body_zh", "body_en", "active", "description")


def message_template_update(*, template: MessageTemplate, actor: Actor, changes: Mapping[str, object]) -> MessageTemplate:
    """Staff edit a template's texts or switch it on/off; validated, audited with old and new values."""
    unknown = set(changes) - set(TEMPLATE_EDITABLE)
    if unknown:
        raise NotificationError(f"not editable: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        row = MessageTemplate.objects.select_for_update().get(pk=template.pk)
        old = {name: getattr(row, name) for name in changes}
        for name, value in changes.items():
            setattr(row, name, value)
        row.full_clean()
        new = {name: getattr(row, name) for name in changes}
        changed = [name for name in changes if old[name] != new[name]]
        if not changed:
            return row
        row.updated_at = clock.now()
        row.save()
        audit_record(actor=actor, action="message_template.update", obj=row,
                     old={n: old[n] for n in changed}, new={n: new[n] for n in changed})
    return row


def message_templates_seed() -> int:
    """Create any default template (notifications/defaults.py) that has no row yet; existing rows are kept, so
    staff edits survive. Returns how many were created. Used after a database is emptied (e.g. `flush`)."""
    created = 0
    with transaction.atomic():
        for t in defaults.TEMPLATES:
            _row, made = MessageTemplate.objects.get_or_create(
                code=t.code,
                defaults={
                    "description": t.description, "params": ",".join(t.params), "secret_params": ",".join(t.secret),
                    "subject_zh": t.subject_zh, "subject_en": t.subject_en, "body_zh": t.body_zh,
                    "body_en": t.body_en, "active": True,
                },
            )
            created += made
    return created
