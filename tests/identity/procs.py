"""Calls the cross-process tests run in separate processes (tests/processes.py): JSON in, JSON out."""
from __future__ import annotations

import json
import re
from typing import Any

from django.test import Client

from jiaoguan.core.errors import DomainError
from jiaoguan.identity import services

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def sms_code(*, phone: str, ip: str, purpose: str = "register") -> dict[str, Any]:
    """Ask for an SMS code as the API does; the status and error code of the answer."""
    try:
        services.sms_code_request(phone=phone, purpose=purpose, ip=ip)
    except DomainError as exc:
        return {"status": exc.status, "code": exc.code}
    return {"status": 200, "code": None}


def answer(response) -> dict[str, Any]:
    """What a client sees of an answer: status, headers, cookies set, and the body (JSON, or the page without its
    CSRF token, which differs on every page)."""
    if response["Content-Type"].startswith("application/json"):
        body: Any = response.json()
    else:
        body = _CSRF.sub("csrf", response.content.decode())
    return {"status": response.status_code, "headers": dict(response.items()), "cookies": sorted(response.cookies),
            "body": body}


def http_post(*, path: str, data: dict[str, Any], ip: str, as_json: bool = False) -> dict[str, Any]:
    client = Client()
    if as_json:
        response = client.post(path, json.dumps(data), content_type="application/json", REMOTE_ADDR=ip)
    else:
        response = client.post(path, data, REMOTE_ADDR=ip)
    return answer(response)


def freeze_clock(*, at: str) -> None:
    """Freeze this process's clock (core.clock) at an ISO instant, as the test's own is."""
    import datetime as dt

    from jiaoguan.core import clock

    clock.freeze(dt.datetime.fromisoformat(at))


def sms_sent(*, phone: str) -> dict[str, int]:
    """How many codes were issued, and how many SMS queued, for ``phone`` (in this process's database)."""
    from jiaoguan.identity.hashes import phone_hash
    from jiaoguan.identity.models import SmsCode
    from jiaoguan.notifications.models import Message

    digest = phone_hash(phone)
    return {"codes": SmsCode.objects.filter(phone_hash=digest).count(),
            "sms": Message.objects.filter(phone_hash=digest, channel="sms").count()}
