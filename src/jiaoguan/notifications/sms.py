"""The SMS channel: one interface, several backends.

    backend = get_backend()                      # from settings.JIAOGUAN_SMS_BACKEND
    result = backend.send(phone, text, reference="42")
    # → SendResult(provider="…", provider_message_id="…"), or raises SmsSendError(retryable=…)

- ``ConsoleBackend`` (development, tests): appends a line to ``JIAOGUAN_SMS_OUTBOX_FILE`` and keeps the
  messages in an in-process list (``tests.notifications.helpers`` reads it).
- ``HttpProviderBackend``: the provider protocol of ``signing.py`` over HTTP, a few quick retries per provider
  on connection errors, timeouts and 5xx, then failover to the next provider in ``JIAOGUAN_SMS_PROVIDERS``.
  A 400 (invalid number) is the message's fault and is not retried anywhere.

A dotted path in ``JIAOGUAN_SMS_BACKEND`` selects any other class with the same interface (a city's own
provider adapter).
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from jiaoguan.core import clock
from jiaoguan.core.masking import mask_phone
from jiaoguan.notifications import signing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    provider: str
    provider_message_id: str


class SmsSendError(Exception):
    """The SMS did not go out. ``retryable``: the same message may succeed later (provider down, timeout);
    not retryable: it never will (invalid number, refused content, no provider accepts us)."""

    def __init__(self, message: str, *, retryable: bool, provider: str = "") -> None:
        super().__init__(message)
        self.retryable = retryable
        self.provider = provider


class MessageRefused(SmsSendError):
    """A provider refused the message itself (invalid number, bad content): every provider would."""

    def __init__(self, message: str, *, provider: str = "") -> None:
        super().__init__(message, retryable=False, provider=provider)


class SmsBackend(ABC):
    name = "sms"

    @abstractmethod
    def send(self, phone: str, text: str, *, reference: str | None = None) -> SendResult:
        """Hand one SMS to the provider. ``reference`` (our message id) lets a provider drop a repeat."""


# --- Console ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SentSms:
    phone: str
    text: str
    at: dt.datetime


class ConsoleBackend(SmsBackend):
    """Development backend: nothing leaves the machine. Every SMS is appended to the outbox file (one line:
    time, phone, text) and kept in memory, newest last, for the process's tests and journeys."""

    name = "console"
    KEEP = 1000  # the in-memory list is bounded: `make run` may serve for days
    _sent: list[SentSms] = []
    _lock = threading.Lock()
    _ids = itertools.count(1)

    def __init__(self, *, outbox_file: str | Path | None = None) -> None:
        self.outbox_file = outbox_file

    def send(self, phone: str, text: str, *, reference: str | None = None) -> SendResult:
        sms = SentSms(phone=phone, text=text, at=clock.now())
        with self._lock:
            type(self)._sent.append(sms)
            del type(self)._sent[: -self.KEEP]
            number = next(self._ids)
        if self.outbox_file:
            path = Path(self.outbox_file)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                one_line = " ".join(text.split())
                with path.open("a", encoding="utf-8") as f:
                    f.write(f"{sms.at.isoformat(timespec='seconds')}\t{phone}\t{one_line}\n")
            except OSError as exc:  # the file is a convenience; the in-memory copy is what tests read
                log.warning("could not append to the SMS outbox file %s: %s", path, exc)
        return SendResult(provider="console", provider_message_id=f"console-{number}")

    @classmethod
    def sent(cls) -> list[SentSms]:
        with cls._lock:
            return list(cls._sent)

    @classmethod
    def clear(cls) -> None:
        with cls._lock:
            cls._sent.clear()


# --- HTTP providers with failover --------------------------------------------------------------------------------

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MESSAGE_REJECTED_STATUSES = frozenset({400, 413, 422})


class HttpProviderBackend(SmsBackend):
    """Posts to each provider in turn. Per provider: up to ``retries`` quick retries (pauses of
    RETRY_PAUSE, doubling) on connection errors, timeouts and 5xx/429; then the next provider. A 400/422 means
    the message itself is refused (invalid number): stop at once, not retryable. 401/403/404 mean this provider
    does not accept us (key, account, URL): go to the next one without retrying it."""

    name = "http"
    RETRY_PAUSE = 0.2  # seconds; quick, because the delivery life cycle does the long-term retrying

    def __init__(self, *, providers: list[str], key: str, timeout: float, retries: int,
                 session: requests.Session | None = None) -> None:
        if not providers:
            raise ImproperlyConfigured("JIAOGUAN_SMS_PROVIDERS is empty: name at least one provider base URL")
        self.providers = [p.rstrip("/") for p in providers]
        self.key = key
        self.timeout = timeout
        self.retries = max(int(retries), 0)
        self.session = session or requests.Session()

    @staticmethod
    def provider_name(base: str) -> str:
        parts = urlsplit(base)
        return (parts.netloc + parts.path.rstrip("/")) or base

    def send(self, phone: str, text: str, *, reference: str | None = None) -> SendResult:
        payload = {"phone": phone, "text": text}
        if reference is not None:
            payload["reference"] = str(reference)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        problems: list[str] = []
        any_retryable = False
        for base in self.providers:
            name = self.provider_name(base)
            try:
                return self._send_to(base, name, body)
            except MessageRefused as exc:
                problems.append(f"{name}: {exc}")
                raise MessageRefused("; ".join(problems), provider=name) from exc
            except SmsSendError as exc:
                problems.append(f"{name}: {exc}")
                any_retryable = any_retryable or exc.retryable
                log.warning("SMS provider %s failed for %s (%s); %s", name, mask_phone(phone), exc,
                            "trying the next provider" if base != self.providers[-1] else "no provider left")
        raise SmsSendError("; ".join(problems), retryable=any_retryable, provider=self.provider_name(self.providers[-1]))

    def _send_to(self, base: str, name: str, body: bytes) -> SendResult:
        url = f"{base}/sms/send"
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.RETRY_PAUSE * 2 ** (attempt - 1))
            headers = signing.signed_headers(key=self.key, body=body)  # fresh timestamp on each try
            try:
                response = self.session.post(url, data=body, headers=headers, timeout=self.timeout)
            except requests.Timeout:
                last = f"timed out after {self.timeout:g} s"
                continue
            except requests.ConnectionError as exc:
                last = f"connection failed ({type(exc).__name__})"
                continue
            status = response.status_code
            if 200 <= status < 300:
                try:
                    message_id = str(response.json().get("message_id") or "")
                except (ValueError, AttributeError):
                    message_id = ""
                return SendResult(provider=name, provider_message_id=message_id)
            reason = _error_of(response)
            if status in RETRYABLE_STATUSES or status >= 500:
                last = f"HTTP {status} {reason}".strip()
                continue
            if status in MESSAGE_REJECTED_STATUSES:
                raise MessageRefused(f"HTTP {status} {reason}".strip(), provider=name)
            # 401/403/404 and the like: this provider does not accept us; no point retrying it.
            raise SmsSendError(f"HTTP {status} {reason}".strip(), retryable=False, provider=name)
        raise SmsSendError(f"{last} ({self.retries + 1} tries)", retryable=True, provider=name)


def _error_of(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def get_backend() -> SmsBackend:
    """The backend the settings name, built fresh (settings may change between tests)."""
    choice = settings.JIAOGUAN_SMS_BACKEND
    if choice == "console":
        return ConsoleBackend(outbox_file=settings.JIAOGUAN_SMS_OUTBOX_FILE or None)
    if choice == "http":
        return HttpProviderBackend(
            providers=list(settings.JIAOGUAN_SMS_PROVIDERS),
            key=settings.JIAOGUAN_SMS_PROVIDER_KEY,
            timeout=settings.JIAOGUAN_SMS_HTTP_TIMEOUT,
            retries=settings.JIAOGUAN_SMS_HTTP_RETRIES,
        )
    if "." in (choice or ""):
        return import_string(choice)()
    raise ImproperlyConfigured(f"JIAOGUAN_SMS_BACKEND must be 'console', 'http' or a dotted path, not {choice!r}")
