"""Fixtures of the violations tests."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass, field

import pytest

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.registry.models import Vehicle
from jiaoguan.violations import services, signing
from jiaoguan.violations.models import Violation

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(200)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)
STAFF = Actor(id=900, label="clerk", role="clerk")
APPROVER = Actor(id=901, label="approver", role="approver")
APPROVER = Actor(id=901, label="approver", role="approver")


@dataclass
class FakePayments:
    """Records the calls the violations app makes to payments (the contract of payments.services)."""

    created: list[dict] = field(default_factory=list)
    cancelled: list[dict] = field(default_factory=list)
    locked: list[dict] = field(default_factory=list)

    def payable_create(self, **kw):
        if any(c["source_id"] == kw["source_id"] and c["source_type"] == kw["source_type"] for c in self.created):
            return None
        self.created.append(kw)
        return kw

    def payable_cancel(self, **kw):
        self.cancelled.append(kw)

    def payable_lock(self, **kw):
        self.locked.append(kw)


@pytest.fixture
def payments(monkeypatch):
    fake = FakePayments()
    monkeypatch.setattr(services, "_payments", lambda: fake)
    return fake


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def record(vehicle: Vehicle | None = None, *, plate=None, plate_type="02", code="1352", when=None, source="on_site",
           actor=STAFF, **kw) -> Violation:
    when = when or clock.now() - dt.timedelta(days=1)
    return services.violation_record(
        plate=plate or vehicle.plate, plate_type=vehicle.plate_type if vehicle else plate_type, code=code,
        place="深南大道与彩田路交叉口", occurred_at=when, source=source, actor=actor, **kw).violation


@pytest.fixture
def device():
    d, secret = signing.device_create(name="深南大道电警01", place="深南大道")
    d.plain_secret = secret
    return d


def camera(vehicle, device, *, code="1352", when=None, record_id=None) -> Violation:
    return record(vehicle, code=code, when=when, source="device", actor=Actor.system("test-device"), device=device,
                  device_record_id=record_id or secrets.token_hex(6))


def signed(client, device, path: str, body: dict | bytes, *, ts: int | None = None, nonce: str | None = None,
           secret: str | None = None, tamper: bytes | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    ts = str(int(clock.now().timestamp()) if ts is None else ts)
    nonce = nonce or secrets.token_hex(12)
    sig = signing.sign(secret or device.plain_secret, ts, nonce, raw)
    return client.post(path, data=tamper if tamper is not None else raw, content_type="application/json",
                       HTTP_X_DEVICE_KEY=device.key_id, HTTP_X_DEVICE_TIMESTAMP=ts, HTTP_X_DEVICE_NONCE=nonce,
                       HTTP_X_DEVICE_SIGNATURE=sig)


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _codes(request):
    """A transactional test's flush empties the code table the migration seeded: put it back before each test
    that uses the database."""
    if request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("_django_db_helper")
    from django.apps import apps as django_apps

    from jiaoguan.violations.models import ViolationCode

    if not ViolationCode.objects.exists():
        import importlib

        importlib.import_module("jiaoguan.violations.migrations.0002_load_codes").load(django_apps, None)
