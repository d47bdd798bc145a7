"""Request helpers: the client's address behind trusted proxies, the request's language."""
from __future__ import annotations

from django.test import RequestFactory, override_settings

from jiaoguan.core.http import client_ip, language_of


def request(**meta):
    return RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", **meta)


def test_without_trusted_proxies_forwarded_headers_are_ignored():
    assert client_ip(request(HTTP_X_FORWARDED_FOR="6.6.6.6")) == "10.0.0.1"


@override_settings(JIAOGUAN_TRUSTED_PROXY_HOPS=1)
def test_one_trusted_proxy_takes_the_last_forwarded_address():
    # a client can prepend anything; only what our own proxy appended counts
    assert client_ip(request(HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")) == "203.0.113.9"
    assert client_ip(request()) == "10.0.0.1"


@override_settings(JIAOGUAN_TRUSTED_PROXY_HOPS=2)
def test_two_trusted_proxies():
    assert client_ip(request(HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9, 10.0.0.2")) == "203.0.113.9"
    assert client_ip(request(HTTP_X_FORWARDED_FOR="203.0.113.9")) == "10.0.0.1"  # fewer hops than promised


def test_missing_remote_addr():
    r = RequestFactory().get("/")
    r.META.pop("REMOTE_ADDR", None)
    assert client_ip(r) == "unknown"


def test_language_of():
    r = request()
    assert language_of(r) == "zh-hans"
    r.LANGUAGE_CODE = "en"
    assert language_of(r) == "en"
