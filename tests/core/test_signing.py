"""core.signing: HMAC-SHA256 over method, path, timestamp, nonce and the body's hash; freshness; replay refusal."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest
from django.db import transaction

from jiaoguan.core import signing
from jiaoguan.core.errors import Unauthenticated
from jiaoguan.core.models import SignedRequestNonce

pytestmark = pytest.mark.django_db

SCHEME = signing.Scheme(name="test", header_prefix="X-Test", error_prefix="test", max_skew_seconds=300)
KEYS = {"k1": ("owner-1", "secret-1"), "k2": ("owner-2", "secret-2")}
BODY = b'{"a": 1}'


def lookup(key_id):
    return KEYS.get(key_id)


def headers(key_id="k1", secret=None, *, method="POST", path="/api/v1/x", body=BODY, **kw):
    return signing.signed_headers(scheme=SCHEME, key_id=key_id, secret=secret or KEYS.get(key_id, ("", "x"))[1],
                                  method=method, path=path, body=body, **kw)


def verify(h, *, method="POST", path="/api/v1/x", body=BODY, scheme=SCHEME):
    return signing.verify(scheme=scheme, headers=h, method=method, path=path, body=body, lookup=lookup)


def refused(h, reason, **kw):
    with pytest.raises(Unauthenticated) as exc:
        verify(h, **kw)
    assert exc.value.code == f"test.{reason}" and exc.value.status == 401
    return exc.value


def test_good_request_returns_the_owner_and_stores_the_nonce():
    h = headers(nonce="nonce-0001")
    assert verify(h) == "owner-1"
    row = SignedRequestNonce.objects.get()
    assert (row.scheme, row.key_id, row.value) == ("test", "k1", "nonce-0001")


def test_canonical_form_is_documented():
    ts, nonce = "1700000000", "abcdefgh"
    expected_msg = f"POST\n/api/v1/x\n{ts}\n{nonce}\n{hashlib.sha256(BODY).hexdigest()}".encode()
    assert signing.canonical_message(scheme=SCHEME, method="post", path="/api/v1/x", timestamp=ts, nonce=nonce,
                                     body=BODY) == expected_msg
    assert signing.sign(scheme=SCHEME, secret="s", method="POST", path="/api/v1/x", timestamp=ts, nonce=nonce,
                        body=BODY) == hmac.new(b"s", expected_msg, hashlib.sha256).hexdigest()


def test_upper_case_hex_is_accepted():
    h = headers()
    h["X-Test-Signature"] = h["X-Test-Signature"].upper()
    assert verify(h) == "owner-1"


@pytest.mark.parametrize("missing", ["Key", "Timestamp", "Nonce", "Signature"])
def test_missing_header_is_unsigned(missing):
    h = headers()
    h.pop(f"X-Test-{missing}")
    refused(h, "unsigned")
    refused({}, "unsigned")


@pytest.mark.parametrize("change", ["secret", "method", "path", "body", "key"])
def test_bad_signature(change):
    if change == "secret":
        refused(headers(secret="wrong"), "bad_signature")
    elif change == "method":
        refused(headers(), "bad_signature", method="PUT")
    elif change == "path":
        refused(headers(), "bad_signature", path="/api/v1/y")
    elif change == "body":
        refused(headers(), "bad_signature", body=b'{"a": 2}')
    else:  # signed with k1's secret but claiming k2
        h = headers()
        h["X-Test-Key"] = "k2"
        refused(h, "bad_signature")
    assert SignedRequestNonce.objects.count() == 0


def test_unknown_key_is_the_same_answer_as_a_bad_signature():
    err = refused(headers(key_id="nobody", secret="secret-1"), "bad_signature")
    assert err.en == "The signature is not valid"


def test_stale_and_future_timestamps(clock):
    clock.freeze(dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC))
    now = int(clock.now().timestamp())
    assert verify(headers(timestamp=now - 300)) == "owner-1"
    assert verify(headers(timestamp=now + 300)) == "owner-1"
    refused(headers(timestamp=now - 301), "stale")
    refused(headers(timestamp=now + 301), "stale")
    refused(headers(timestamp="not-a-number"), "stale")


def test_skew_can_be_a_callable():
    strict = signing.Scheme(name="test", header_prefix="X-Test", error_prefix="test", max_skew_seconds=lambda: 5)
    old = int(signing.clock.now().timestamp()) - 10
    h = signing.signed_headers(scheme=strict, key_id="k1", secret="secret-1", method="POST", path="/p", body=b"",
                               timestamp=old)
    with pytest.raises(Unauthenticated) as exc:
        signing.verify(scheme=strict, headers=h, method="POST", path="/p", body=b"", lookup=lookup)
    assert exc.value.code == "test.stale"


@pytest.mark.parametrize("nonce", ["short", "x" * 65, "nonce-日本語-0001", "nonce\n00001"])
def test_bad_nonce(nonce):
    refused(headers(nonce=nonce), "nonce")


def test_replay_is_refused_per_key():
    assert verify(headers(nonce="nonce-0001")) == "owner-1"
    refused(headers(nonce="nonce-0001"), "replayed")
    assert verify(headers("k2", nonce="nonce-0001")) == "owner-2"  # another key's nonces are its own
    other = signing.Scheme(name="other", header_prefix="X-Test", error_prefix="test")
    assert verify(headers(nonce="nonce-0001"), scheme=other) == "owner-1"  # and another scheme's


def test_nonce_is_forgotten_when_the_request_fails():
    # the caller verifies inside its transaction: if the work fails, the nonce goes too (the retry may reuse it)
    h = headers(nonce="nonce-0002")
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            verify(h)
            raise RuntimeError("the request's work failed")
    assert SignedRequestNonce.objects.count() == 0
    assert verify(h) == "owner-1"


def test_purge(clock):
    clock.freeze(dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC))
    verify(headers(nonce="nonce-0003"))
    assert signing.nonces_purge(scheme=SCHEME) == 0
    clock.advance(dt.timedelta(seconds=601))
    verify(headers(nonce="nonce-0004"))
    assert signing.nonces_purge(scheme=SCHEME) == 1
    assert list(SignedRequestNonce.objects.values_list("value", flat=True)) == ["nonce-0004"]


def test_body_canonical_form_for_devices():
    legacy = signing.Scheme(name="dev", header_prefix="X-Device", error_prefix="d", canonical=signing.CANONICAL_BODY)
    assert signing.canonical_message(scheme=legacy, method="POST", path="/x", timestamp="1", nonce="n",
                                     body=b"b") == b"1\nn\nb"


def test_new_key():
    a, b = signing.new_key("pk"), signing.new_key("pk")
    assert a[0].startswith("pk_") and a != b and len(a[1]) >= 40
