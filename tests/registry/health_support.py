"""Helpers for the health-check tests: a hospital partner, a valid record, a signed POST."""
from __future__ import annotations

import datetime as dt
import json

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.registry import partners
from jiaoguan.registry.models import Partner

URL = "/api/v1/partners/health-checks"


def make_hospital(*, name: str = "深圳市人民医院", code: str = "45575959X44030311A1001", kind: str = "hospital",
                  active: bool = True) -> Partner:
    partner, secret = partners.partner_create(kind=kind, name_zh=name, name_en="Shenzhen People's Hospital",
                                              institution_code=code, actor=Actor.system("test"))
    if not active:
        partner = partners.partner_update(partner=partner, actor=Actor.system("test"), name_zh=partner.name_zh,
                                          name_en=partner.name_en, institution_code=partner.institution_code,
                                          active=False)
    partner.plain_secret = secret
    return partner


def record(person, *, number: str = "HC-2026-0001", examined_on: dt.date | str | None = None, **kw) -> dict:
    examined_on = examined_on or clock.today() - dt.timedelta(days=3)
    if isinstance(examined_on, dt.date):
        examined_on = examined_on.isoformat()
    return {"record_number": number, "id_number": person.id_number, "name": person.name,
            "examined_on": examined_on, "result": "fit", "conditions": "",
            "vision_left": 5.0, "vision_right": 5.1, "colour_vision_normal": True, "hearing_normal": True,
            "limbs_normal": True, **kw}


def raw(body: dict | bytes) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()


def headers_for(partner: Partner, body: bytes, *, path: str = URL, method: str = "POST", secret: str | None = None,
                ts: int | None = None, nonce: str | None = None, key_id: str | None = None) -> dict:
    h = partners.signing.signed_headers(scheme=partners.SCHEME, key_id=key_id or partner.key_id,
                                        secret=secret or partner.plain_secret, method=method, path=path, body=body,
                                        timestamp=ts, nonce=nonce)
    return {"HTTP_" + k.upper().replace("-", "_"): v for k, v in h.items()}


def post(client, partner: Partner, body: dict | bytes, *, send: bytes | None = None, drop: str | None = None,
         lang: str | None = None, **kw):
    """POST ``body`` signed by ``partner`` (``send``: different bytes than signed; ``drop``: leave a header out)."""
    data = raw(body)
    h = headers_for(partner, data, **kw)
    if drop:
        h.pop("HTTP_X_PARTNER_" + drop.upper())
    if lang:
        h["HTTP_ACCEPT_LANGUAGE"] = lang
    return client.post(URL, data=send if send is not None else data, content_type="application/json", **h)
