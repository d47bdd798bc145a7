"""Signed requests from partners and devices (ARCHITECTURE §6): HMAC-SHA256 with a key id, a timestamp and a
nonce. The one implementation every signed API uses (violations devices, eastern checkpoints, hospitals, …).

A ``Scheme`` names the headers (``<prefix>-Key``, ``-Timestamp``, ``-Nonce``, ``-Signature``), what is signed,
the freshness window and the prefix of the error codes. Two canonical forms exist:

- ``CANONICAL_REQUEST`` (partners):  ``METHOD \\n path \\n timestamp \\n nonce \\n hex(sha256(body))``
- ``CANONICAL_BODY`` (the devices' original protocol, kept for the cameras in the field):
  ``timestamp \\n nonce \\n`` + raw body

The signature is ``hex(HMAC-SHA256(secret, canonical))`` (lower or upper case hex accepted).

``verify`` refuses (``Unauthenticated``, 401, code ``<prefix>.<reason>``) in this order:

1. ``unsigned``       a header is missing
2. ``bad_signature``  the key id is unknown or inactive, or the signature does not match
3. ``stale``          the timestamp is not an integer or is more than ``max_skew_seconds`` from now (either way)
4. ``nonce``          the nonce is not 8–64 printable ASCII characters
5. ``replayed``       the nonce was used before with this key

The nonce is remembered through a ``NonceStore`` inside the caller's transaction: call ``verify`` inside the
transaction that does the request's work, so a refused or failed request leaves no nonce behind and a replay can
never write twice. The default store is ``core.SignedRequestNonce`` (one table for every scheme, keyed by scheme
and key id); a scheme that already had its own table (violations ``DeviceNonce``) passes its own store. Nonces
older than twice the window can be purged (``nonces_purge``): a request that old is refused as stale anyway.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from jiaoguan.core import clock
from jiaoguan.core.errors import Unauthenticated
from jiaoguan.core.models import SignedRequestNonce

CANONICAL_REQUEST = "request"
CANONICAL_BODY = "body"
NONCE_MIN, NONCE_MAX = 8, 64


class NonceStore(Protocol):
    def remember(self, *, scheme: Scheme, key_id: str, owner: Any, nonce: str) -> bool:
        """Record the nonce; False when it was already used (a replay). Runs inside the caller's transaction."""


class DatabaseNonceStore:
    """Nonces in ``core.SignedRequestNonce``, unique per (scheme, key id, nonce)."""

    def remember(self, *, scheme: Scheme, key_id: str, owner: Any, nonce: str) -> bool:
        try:
            with transaction.atomic():
                SignedRequestNonce.objects.create(scheme=scheme.name, key_id=key_id, value=nonce, seen_at=clock.now())
        except IntegrityError:
            return False
        return True


@dataclass(frozen=True)
class Scheme:
    name: str                                  # nonce-store scope, e.g. "partners"
    header_prefix: str                         # "X-Partner" -> X-Partner-Key, X-Partner-Timestamp, …
    error_prefix: str                          # error codes are "<error_prefix>.<reason>"
    max_skew_seconds: int | Callable[[], int] = 300
    canonical: str = CANONICAL_REQUEST
    nonce_store: NonceStore = DatabaseNonceStore()

    def header(self, part: str) -> str:
        return f"{self.header_prefix}-{part}"

    def skew(self) -> int:
        value = self.max_skew_seconds
        return int(value() if callable(value) else value)


def canonical_message(*, scheme: Scheme, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    if scheme.canonical == CANONICAL_BODY:
        return f"{timestamp}\n{nonce}\n".encode() + body
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n{digest}".encode()


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(*, scheme: Scheme, secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac_hex(secret, canonical_message(scheme=scheme, method=method, path=path, timestamp=timestamp,
                                              nonce=nonce, body=body))


def signed_headers(*, scheme: Scheme, key_id: str, secret: str, method: str, path: str, body: bytes,
                   timestamp: int | str | None = None, nonce: str | None = None) -> dict[str, str]:
    """The headers a client sends (partner simulators, tests, the documentation's example)."""
    ts = str(int(clock.now().timestamp()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    return {
        scheme.header("Key"): key_id,
        scheme.header("Timestamp"): ts,
        scheme.header("Nonce"): nonce,
        scheme.header("Signature"): sign(scheme=scheme, secret=secret, method=method, path=path, timestamp=ts,
                                         nonce=nonce, body=body),
    }


def new_key(prefix: str) -> tuple[str, str]:
    """A fresh (key id, secret) pair; the secret is shown once to whoever sets up the partner or device."""
    return f"{prefix}_{secrets.token_hex(8)}", secrets.token_urlsafe(32)


def refuse(scheme: Scheme, reason: str, zh: str, en: str) -> Unauthenticated:
    return Unauthenticated(f"{scheme.error_prefix}.{reason}", zh, en)


def verify(*, scheme: Scheme, headers: Mapping[str, str], method: str, path: str, body: bytes,
           lookup: Callable[[str], tuple[Any, str] | None]) -> Any:
    """Check a signed request and remember its nonce; return what ``lookup(key_id)`` found (the partner or device).

    ``lookup`` returns ``(owner, secret)`` for an active key id, or None. Call inside the request's transaction."""
    key_id = headers.get(scheme.header("Key"), "") or ""
    ts = headers.get(scheme.header("Timestamp"), "") or ""
    nonce = headers.get(scheme.header("Nonce"), "") or ""
    signature = headers.get(scheme.header("Signature"), "") or ""
    if not (key_id and ts and nonce and signature):
        raise refuse(scheme, "unsigned", "请求未签名", "The request is not signed")
    found = lookup(key_id)
    if found is None:
        # the same answer as a wrong signature, so key ids cannot be probed
        raise refuse(scheme, "bad_signature", "签名无效", "The signature is not valid")
    owner, secret = found
    expected = sign(scheme=scheme, secret=secret, method=method, path=path, timestamp=ts, nonce=nonce, body=body)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise refuse(scheme, "bad_signature", "签名无效", "The signature is not valid")
    try:
        when = int(ts)
    except ValueError:
        raise refuse(scheme, "stale", "请求时间戳无效", "The request timestamp is not valid") from None
    if abs(clock.now().timestamp() - when) > scheme.skew():
        raise refuse(scheme, "stale", "请求已过期（时间戳与服务器时间相差过大）",
                     "The request is stale (timestamp too far from now)")
    if not (NONCE_MIN <= len(nonce) <= NONCE_MAX) or not nonce.isascii() or not nonce.isprintable():
        raise refuse(scheme, "nonce", "请求随机数无效", "The nonce is not valid")
    if not scheme.nonce_store.remember(scheme=scheme, key_id=key_id, owner=owner, nonce=nonce):
        raise refuse(scheme, "replayed", "重复的请求（随机数已使用）", "Replayed request: the nonce was already used")
    return owner


def verify_request(*, scheme: Scheme, request: HttpRequest, lookup: Callable[[str], tuple[Any, str] | None]) -> Any:
    """``verify`` for a Django request: the path signed is the full path as sent (query string included)."""
    return verify(scheme=scheme, headers=request.headers, method=request.method or "", path=request.get_full_path(),
                  body=request.body, lookup=lookup)


def purge_cutoff(scheme: Scheme) -> dt.datetime:
    return clock.now() - dt.timedelta(seconds=2 * scheme.skew())


def nonces_purge(*, scheme: Scheme) -> int:
    """Forget this scheme's nonces in the default store older than twice its freshness window."""
    deleted, _ = SignedRequestNonce.objects.filter(scheme=scheme.name, seen_at__lt=purge_cutoff(scheme)).delete()
    return deleted
