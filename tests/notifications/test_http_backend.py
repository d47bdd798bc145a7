"""The HTTP provider backend against two local fake providers: signatures, retries, failover, backoff, 400s."""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from jiaoguan.notifications import fake_provider, signing
from jiaoguan.notifications.fake_provider import FakeSmsProvider
from jiaoguan.notifications.models import Message
from jiaoguan.notifications.services import message_deliver, message_send
from jiaoguan.notifications.sms import HttpProviderBackend, MessageRefused, SmsSendError, get_backend
from jiaoguan.notifications.tasks import messages_redispatch

PHONE = "13912345678"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def backend_for(*urls, key="test-provider-key", timeout=0.5, retries=2) -> HttpProviderBackend:
    return HttpProviderBackend(providers=list(urls), key=key, timeout=timeout, retries=retries)


def name(provider: FakeSmsProvider) -> str:
    return f"127.0.0.1:{provider.port}"


@pytest.fixture
def send(db, clock):
    """Queue an SMS at START and run its first delivery attempt as the after-commit task would."""
    clock.freeze(START)

    def go(template="otp.login", params=None, phone=PHONE) -> Message:
        [message] = message_send(template=template, params=params or {"code": "493817", "minutes": 5}, phone=phone)
        message_deliver(message_id=message.pk)
        return Message.objects.get(pk=message.pk)

    return go


def test_settings_select_the_http_backend(providers):
    backend = get_backend()
    assert isinstance(backend, HttpProviderBackend)
    assert backend.providers == [p.url for p in providers] and (backend.timeout, backend.retries) == (0.5, 2)


def test_success_through_the_primary(providers, send):
    primary, secondary = providers
    message = send()
    assert (message.status, message.attempts) == ("delivered", 1)
    assert (message.provider, message.provider_message_id) == (name(primary), "primary-1")
    [sms] = primary.messages
    assert (sms.phone, sms.reference) == (PHONE, str(message.pk))
    assert sms.text == message.body and sms.text.startswith("【交管】验证码：493817")
    assert primary.stats.calls == 1 and primary.stats.bad_signatures == 0 and secondary.stats.calls == 0


def test_primary_errors_are_retried_on_the_primary_first(providers, send):
    primary, secondary = providers
    primary.fail_next(2, mode="error")
    message = send()
    assert message.provider == name(primary) and message.status == "delivered"
    assert primary.stats.calls == 3 and primary.stats.by_status == {500: 2, 200: 1}
    assert secondary.stats.calls == 0


def test_primary_down_is_retried_then_fails_over_to_the_secondary(providers, send):
    primary, secondary = providers
    primary.fail_next(None, mode="error")
    message = send()
    assert (message.status, message.attempts, message.provider) == ("delivered", 1, name(secondary))
    assert message.provider_message_id == "secondary-1"
    assert primary.stats.calls == 3 and primary.messages == []  # 1 try + 2 quick retries, then failover
    assert len(secondary.messages) == 1


def test_a_hanging_primary_times_out_then_fails_over(providers, send, settings):
    primary, secondary = providers
    settings.JIAOGUAN_SMS_HTTP_RETRIES = 1
    primary.fail_next(None, mode="hang")
    began = time.monotonic()
    message = send()
    assert message.status == "delivered" and message.provider == name(secondary)
    assert primary.stats.calls == 2  # each try gave up after the 0.5 s timeout
    assert time.monotonic() - began >= 2 * 0.5


def test_an_unreachable_primary_fails_over(providers, send, settings):
    primary, secondary = providers
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    settings.JIAOGUAN_SMS_PROVIDERS = [dead, secondary.url]
    message = send()
    assert message.status == "delivered" and message.provider == name(secondary)


def test_both_down_backs_off_and_delivers_when_a_provider_comes_back(providers, send, clock):
    primary, secondary = providers
    primary.fail_next(None, mode="error")
    secondary.fail_next(None, mode="error")
    message = send()
    assert (message.status, message.attempts) == ("created", 1)
    assert message.next_attempt_at == START + dt.timedelta(seconds=30)
    assert "HTTP 500" in message.last_error and name(primary) in message.last_error
    assert (primary.stats.calls, secondary.stats.calls) == (3, 3)

    assert messages_redispatch() == 0  # the backoff holds
    secondary.recover()
    clock.advance(dt.timedelta(seconds=30))
    assert messages_redispatch() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider) == ("delivered", 2, name(secondary))
    assert [m.reference for m in secondary.messages] == [str(message.pk)]


def test_both_down_for_good_ends_failed_after_max_attempts(providers, send, clock):
    primary, secondary = providers
    primary.fail_next(None, mode="error")
    secondary.fail_next(None, mode="error")
    message = send()
    for wait in (30, 60):
        clock.advance(dt.timedelta(seconds=wait - 1))
        assert messages_redispatch() == 0
        clock.advance(dt.timedelta(seconds=1))
        assert messages_redispatch() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3)
    assert message.failed_at == START + dt.timedelta(seconds=90)
    assert (primary.stats.calls, secondary.stats.calls) == (9, 9)
    clock.advance(dt.timedelta(days=1))
    assert messages_redispatch() == 0


def test_an_invalid_number_is_not_retried_anywhere(providers, send, clock):
    primary, secondary = providers
    primary.reject_numbers.add(PHONE)
    message = send()
    assert (message.status, message.attempts) == ("failed", 1)
    assert "HTTP 400 invalid_number" in message.last_error
    assert (primary.stats.calls, secondary.stats.calls) == (1, 0)
    clock.advance(dt.timedelta(hours=1))
    assert messages_redispatch() == 0 and primary.stats.calls == 1


def test_an_injected_rejection_is_a_message_refusal(providers):
    primary, secondary = providers
    primary.fail_next(1, mode="reject")
    with pytest.raises(MessageRefused) as info:
        backend_for(primary.url, secondary.url).send(PHONE, "【交管】hi")
    assert info.value.retryable is False and info.value.provider == name(primary)
    assert secondary.stats.calls == 0


def test_a_wrong_key_is_refused_by_every_provider_and_fails_without_retry(providers, send, settings):
    primary, secondary = providers
    settings.JIAOGUAN_SMS_PROVIDER_KEY = "not-the-key"
    message = send()
    assert (message.status, message.attempts) == ("failed", 1)
    assert "HTTP 401 bad_signature" in message.last_error
    assert primary.stats.bad_signatures == 1 and secondary.stats.bad_signatures == 1  # not retried per provider
    assert primary.messages == [] and secondary.messages == []


def test_the_fake_provider_refuses_forged_stale_and_missing_signatures(providers):
    primary, _ = providers
    body = json.dumps({"phone": PHONE, "text": "【交管】伪造"}, ensure_ascii=False).encode()
    url = f"{primary.url}/sms/send"
    forged = signing.signed_headers(key="attacker-key", body=body)
    assert requests.post(url, data=body, headers=forged, timeout=2).json() == {"error": "bad_signature"}
    genuine = signing.signed_headers(key="test-provider-key", body=body)
    tampered = body.replace("伪造".encode(), "篡改".encode())
    r = requests.post(url, data=tampered, headers=genuine, timeout=2)
    assert (r.status_code, r.json()) == (401, {"error": "bad_signature"})
    old = signing.signed_headers(key="test-provider-key", body=body, timestamp=int(time.time()) - 301)
    r = requests.post(url, data=body, headers=old, timeout=2)
    assert (r.status_code, r.json()) == (401, {"error": "stale_timestamp"})
    r = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=2)
    assert r.status_code == 401
    assert primary.messages == [] and primary.stats.bad_signatures == 4
    # the same body, signed as the protocol says, is accepted
    r = requests.post(url, data=body, headers=genuine, timeout=2)
    assert r.status_code == 200 and primary.messages[0].text == "【交管】伪造"


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    import hashlib
    import hmac

    body = b'{"phone":"13912345678","text":"x"}'
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signing.signature(key="k", timestamp="1700000000", body=body) == f"sha256={expected}"
    assert signing.verify(key="k", timestamp="1700000000", sig=f"sha256={expected}", body=body,
                          now=1700000000 + 300) == ""
    assert signing.verify(key="k", timestamp="1700000000", sig=f"sha256={expected}", body=body,
                          now=1700000000 + 301) == "stale_timestamp"


def test_the_fake_provider_drops_a_repeated_reference_and_checks_numbers(providers):
    primary, _ = providers
    backend = backend_for(primary.url)
    first = backend.send(PHONE, "【交管】一", reference="42")
    again = backend.send(PHONE, "【交管】一", reference="42")
    assert first.provider_message_id == again.provider_message_id and len(primary.messages) == 1
    assert primary.stats.duplicates == 1
    with pytest.raises(MessageRefused, match="invalid_number"):
        backend.send("12345", "【交管】一")


def test_errors_carry_retryable_and_the_last_provider(providers):
    primary, secondary = providers
    primary.fail_next(None, mode="error")
    secondary.fail_next(None, mode="error")
    with pytest.raises(SmsSendError) as info:
        backend_for(primary.url, secondary.url, retries=0).send(PHONE, "x")
    assert info.value.retryable is True and info.value.provider == name(secondary)
    assert (primary.stats.calls, secondary.stats.calls) == (1, 1)


def test_no_providers_configured_is_a_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.JIAOGUAN_SMS_BACKEND = "http"
    settings.JIAOGUAN_SMS_PROVIDERS = []
    with pytest.raises(ImproperlyConfigured, match="JIAOGUAN_SMS_PROVIDERS"):
        get_backend()
    settings.JIAOGUAN_SMS_BACKEND = "carrier-pigeon"
    with pytest.raises(ImproperlyConfigured, match="console"):
        get_backend()


def test_control_endpoints_of_the_fake_provider(providers):
    primary, _ = providers
    r = requests.post(f"{primary.url}/control", json={"fail_next": 1, "mode": "error"}, timeout=2)
    assert r.json() == {"ok": True}
    backend = backend_for(primary.url, retries=1)
    backend.send(PHONE, "【交管】控制")
    assert primary.stats.by_status.get(500) == 1
    messages = requests.get(f"{primary.url}/messages", timeout=2).json()
    assert [m["text"] for m in messages] == ["【交管】控制"]
    assert requests.post(f"{primary.url}/control", json={"reset": True}, timeout=2).json() == {"ok": True}
    assert requests.get(f"{primary.url}/messages", timeout=2).json() == []
    assert requests.post(f"{primary.url}/control", json={"fail_next": 1, "mode": "explode"}, timeout=2).status_code == 400


def test_the_fake_provider_runs_as_a_command():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = Path(fake_provider.__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "jiaoguan.notifications.fake_provider", "--port", str(port), "--key", "cli-key"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(src), "PYTHONUNBUFFERED": "1"},  # keep its output if terminated
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if requests.get(f"{url}/health", timeout=0.5).ok:
                    break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.1)
        banner = proc.stdout.readline()  # printed (and flushed) once the server listens, before any message
        result = backend_for(url, key="cli-key").send(PHONE, "【交管】命令行")
        assert result.provider_message_id == "fake-1"
        assert requests.get(f"{url}/messages", timeout=2).json()[0]["phone"] == PHONE
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f"fake SMS provider on {url}" in banner and "【交管】命令行" in out
