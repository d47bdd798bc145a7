"""Fixtures for the notifications tests: users, and two fake SMS providers behind the HTTP backend."""
from __future__ import annotations

import itertools

import pytest

from jiaoguan.notifications.fake_provider import FakeSmsProvider
from jiaoguan.notifications.sms import HttpProviderBackend

_n = itertools.count(1)


@pytest.fixture
def make_user(db):
    from jiaoguan.identity.models import User

    def make(*, phone: str | None = "auto", language: str = "zh-hans") -> User:
        n = next(_n)
        return User.objects.create_user(
            username=f"notif-user-{n}", password="correct horse battery",
            phone=f"1370000{n:04d}" if phone == "auto" else phone, preferred_language=language,
        )

    return make


@pytest.fixture
def providers(settings, monkeypatch):
    """A primary and a secondary fake provider on free ports, with the HTTP backend pointed at them."""
    key = "test-provider-key"
    primary = FakeSmsProvider(key=key, name="primary").start()
    secondary = FakeSmsProvider(key=key, name="secondary").start()
    settings.JIAOGUAN_SMS_BACKEND = "http"
    settings.JIAOGUAN_SMS_PROVIDERS = [primary.url, secondary.url]
    settings.JIAOGUAN_SMS_PROVIDER_KEY = key
    settings.JIAOGUAN_SMS_HTTP_TIMEOUT = 0.5
    settings.JIAOGUAN_SMS_HTTP_RETRIES = 2
    settings.JIAOGUAN_DELIVERY_MAX_ATTEMPTS = 3
    settings.JIAOGUAN_DELIVERY_BACKOFF_SECONDS = 30
    monkeypatch.setattr(HttpProviderBackend, "RETRY_PAUSE", 0.01)
    try:
        yield primary, secondary
    finally:
        primary.stop()
        secondary.stop()


@pytest.fixture
def outbox_file(settings, tmp_path):
    path = tmp_path / "sms-outbox.log"
    settings.JIAOGUAN_SMS_OUTBOX_FILE = str(path)
    return path
