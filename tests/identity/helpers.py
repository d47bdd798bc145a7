"""Shared helpers for the identity and API tests."""
from __future__ import annotations

import itertools

from jiaoguan.identity import services
from jiaoguan.identity.models import User
from tests.factories import make_licence, make_person, make_policy, make_vehicle, unique_phone
from tests.notifications.helpers import last_code, sms_outbox

PASSWORD = "Lu-Qiao#2719"
_ips = itertools.count(1)


def fresh_ip() -> str:
    """A new client address per call, so tests that create many accounts stay under the per-IP SMS limit."""
    n = next(_ips)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def holder(*, name: str = "张三", phone: str | None = "auto", licence: bool = True, vehicles: int = 1, **kw):
    """A registry person holding a licence and owning ``vehicles`` insured private cars."""
    person = make_person(name=name, phone=unique_phone() if phone == "auto" else phone)
    if licence:
        make_licence(person=person)
    for _ in range(vehicles):
        v = make_vehicle(owner=person, **kw)
        make_policy(vehicle=v)
    return person


def code_for(phone: str, purpose: str = "register", ip: str | None = None) -> str:
    services.sms_code_request(phone=phone, purpose=purpose, ip=ip or fresh_ip())
    code = last_code(phone)
    assert code is not None, f"no SMS code was sent to {phone}"
    return code


def register(person, *, phone: str | None = None, password: str = PASSWORD, name: str | None = None) -> User:
    phone = phone or person.phone
    code = code_for(phone)
    return services.citizen_register(phone=phone, code=code, name=name or person.name, id_number=person.id_number,
                                     password=password, ip=fresh_ip())


def sms_texts(phone: str) -> list[str]:
    return [s.text for s in sms_outbox() if s.phone.endswith(phone[-11:])]


def wrong(code: str) -> str:
    """A well-formed code that is not ``code``."""
    return f"{(int(code) + 1) % 10**6:06d}"


def later(seconds: int = 61) -> None:
    """Move the clock on (past the one-SMS-per-minute limit of a phone, for example)."""
    import datetime as dt

    from jiaoguan.core import clock

    clock.advance(dt.timedelta(seconds=seconds))
