"""The signature of the SMS provider protocol, shared by our HTTP adapter and the fake provider (stdlib only,
so ``python -m jiaoguan.notifications.fake_provider`` needs no Django settings).

    POST {base}/sms/send
    Content-Type: application/json
    X-Sms-Timestamp: <unix seconds>
    X-Sms-Signature: sha256=<hex HMAC-SHA256(key, timestamp + "." + raw body)>

    {"phone": "13900000000", "text": "【交管】…", "reference": "<our message id>"}

    200 {"message_id": "…", "duplicate": false}   accepted (a repeated reference returns the first id)
    400 {"error": "invalid_number" | "invalid_request"}   the message itself is wrong: do not retry
    401 {"error": "bad_signature" | "stale_timestamp"}    we are not recognised by this provider
    5xx                                                    the provider is in trouble: retry, then fail over

The timestamp is real wall-clock time (not ``core.clock``): it is checked by another party against its own
clock, and a request more than ``MAX_SKEW_SECONDS`` away from it is refused (replay protection).
"""
from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Sms-Timestamp"
SIGNATURE_HEADER = "X-Sms-Signature"
MAX_SKEW_SECONDS = 300


def signature(*, key: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(key.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(*, key: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: ts,
        SIGNATURE_HEADER: signature(key=key, timestamp=ts, body=body),
    }


def verify(*, key: str, timestamp: str | None, sig: str | None, body: bytes, now: float | None = None) -> str:
    """"" if the request is authentic, else the reason ("bad_signature" or "stale_timestamp")."""
    if not timestamp or not sig or not timestamp.isdigit():
        return "bad_signature"
    if not hmac.compare_digest(signature(key=key, timestamp=timestamp, body=body), sig):
        return "bad_signature"
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_SKEW_SECONDS:
        return "stale_timestamp"
    return ""
