"""Production refuses to start with development defaults (run in a subprocess: settings load once per process)."""
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# Strong (if fixed) keys: a 56-character secret key of many characters, 32-byte keys of 32 different bytes
KEYS = {
    "JIAOGUAN_SECRET_KEY": "Zq7-" + "".join(chr(0x41 + (i * 7) % 58) for i in range(52)),
    "JIAOGUAN_FIELD_KEYS": "p1:" + b64(bytes(range(32))),
    "JIAOGUAN_HASH_KEY": b64(bytes(range(32, 64))),
    "JIAOGUAN_CREDENTIAL_KEYS": "c1:" + b64(bytes(range(64, 96))),
    "JIAOGUAN_AUDIT_KEYS": "a1:" + b64(bytes(range(96, 128))),
}
# Everything production requires besides the keys (no postal carrier: a deployment without delivery by post)
SERVICES = {"JIAOGUAN_SMS_BACKEND": "http", "JIAOGUAN_SMS_PROVIDERS": "https://sms.example",
            "JIAOGUAN_SMS_PROVIDER_KEY": "real", "REDIS_URL": "redis://127.0.0.1:6379/9"}


def _env(env: dict) -> dict:
    # a production process's environment: none of ours, nor the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE (e2e/conftest.py
    # sets it in this process when the same test worker ran a journey first; `check --deploy` rightly refuses it)
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("JIAOGUAN_", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"))}
    clean.update(env, DJANGO_SETTINGS_MODULE="jiaoguan.settings", PYTHONPATH=str(ROOT / "src"))
    return clean


def load_settings(**env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import django; django.setup(); print('started')"],
                          env=_env(env), capture_output=True, text=True, cwd=ROOT, timeout=60)


def manage(*args: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], env=_env(env), capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_production_without_secrets_refuses():
    r = load_settings(JIAOGUAN_ENV="production")
    assert r.returncode != 0 and "JIAOGUAN_SECRET_KEY" in r.stderr


def test_production_without_the_audit_key_refuses(tmp_path):
    keys = {k: v for k, v in KEYS.items() if k != "JIAOGUAN_AUDIT_KEYS"}
    r = load_settings(JIAOGUAN_ENV="production", **keys, **SERVICES, JIAOGUAN_VAR_DIR=str(tmp_path))
    assert r.returncode != 0 and "JIAOGUAN_AUDIT_KEYS" in r.stderr


@pytest.mark.parametrize("extra, expected", [
    ({}, "JIAOGUAN_SMS_BACKEND=console"),
    ({"JIAOGUAN_SMS_BACKEND": "http", "JIAOGUAN_SMS_PROVIDERS": "https://sms.example"}, "JIAOGUAN_SMS_PROVIDER_KEY"),
    ({"JIAOGUAN_SMS_BACKEND": "http", "JIAOGUAN_SMS_PROVIDERS": "https://sms.example",
      "JIAOGUAN_SMS_PROVIDER_KEY": "real"}, "REDIS_URL"),
])
def test_production_refuses_development_defaults(extra, expected):
    r = load_settings(JIAOGUAN_ENV="production", **KEYS, **extra)
    assert r.returncode != 0 and expected in r.stderr


def test_production_with_everything_set_starts():
    r = load_settings(JIAOGUAN_ENV="production", **KEYS, JIAOGUAN_SMS_BACKEND="http",
                      JIAOGUAN_SMS_PROVIDERS="https://sms.example", JIAOGUAN_SMS_PROVIDER_KEY="real",
                      REDIS_URL="redis://127.0.0.1:6379/9", JIAOGUAN_FAST_HASHER="1")
    assert r.returncode == 0, r.stderr
    assert "started" in r.stdout


def test_production_ignores_the_fast_test_hasher():
    r = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
         "print(settings.PASSWORD_HASHERS[0])"],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("JIAOGUAN_")}, **KEYS,
             "JIAOGUAN_ENV": "production", "JIAOGUAN_SMS_BACKEND": "http",
             "JIAOGUAN_SMS_PROVIDERS": "https://sms.example", "JIAOGUAN_SMS_PROVIDER_KEY": "real",
             "REDIS_URL": "redis://127.0.0.1:6379/9", "JIAOGUAN_FAST_HASHER": "1",
             "DJANGO_SETTINGS_MODULE": "jiaoguan.settings", "PYTHONPATH": str(ROOT / "src")},
        capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Argon2" in r.stdout


def test_the_deploy_checks_are_clean_in_production(tmp_path):
    """`manage.py check --deploy` in production mode: no warning and no error (HSTS, SSL redirect, secure cookies,
    a strong secret key, …), and no postal.E001 without a postal carrier — `migrate` runs the same checks."""
    env = {"JIAOGUAN_ENV": "production", **KEYS, **SERVICES, "JIAOGUAN_VAR_DIR": str(tmp_path)}
    r = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "System check identified no issues" in r.stdout + r.stderr
    r = manage("migrate", "--plan", **env)  # the checks migrate runs first, then its plan; nothing applied
    assert r.returncode == 0, r.stdout + r.stderr


def test_production_transport_settings(tmp_path):
    """HTTPS only, HSTS for a year with sub-domains and preload, secure cookies; X-Forwarded-Proto believed only
    when JIAOGUAN_TRUSTED_PROXY_HOPS says a trusted proxy is in front."""
    names = ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
             "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER", "X_FRAME_OPTIONS"]
    code = ("import django, json; django.setup(); from django.conf import settings; "
            f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))")

    def read(**extra) -> dict:
        r = subprocess.run([sys.executable, "-c", code], env=_env({"JIAOGUAN_VAR_DIR": str(tmp_path), **extra}),
                           capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout.strip().splitlines()[-1])

    production = read(JIAOGUAN_ENV="production", **KEYS, **SERVICES)
    assert production == {"SECURE_SSL_REDIRECT": True, "SECURE_HSTS_SECONDS": 365 * 86400,
                          "SECURE_HSTS_INCLUDE_SUBDOMAINS": True, "SECURE_HSTS_PRELOAD": True,
                          "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
                          "SECURE_PROXY_SSL_HEADER": None, "X_FRAME_OPTIONS": "DENY"}
    proxied = read(JIAOGUAN_ENV="production", **KEYS, **SERVICES, JIAOGUAN_TRUSTED_PROXY_HOPS="1")
    assert proxied["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    development = read()
    assert not development["SECURE_SSL_REDIRECT"] and development["SECURE_HSTS_SECONDS"] == 0
    assert not development["SESSION_COOKIE_SECURE"] and development["SECURE_PROXY_SSL_HEADER"] is None


@pytest.mark.parametrize("name, value", [
    ("JIAOGUAN_SECRET_KEY", "x"),
    ("JIAOGUAN_SECRET_KEY", "x" * 60),  # long, but one character
    ("JIAOGUAN_SECRET_KEY", "abcdefghij" * 4),  # 40 characters
    ("JIAOGUAN_SECRET_KEY", "django-insecure-" + KEYS["JIAOGUAN_SECRET_KEY"]),
    ("JIAOGUAN_FIELD_KEYS", "p1:" + b64(b"A" * 32)),
    ("JIAOGUAN_FIELD_KEYS", KEYS["JIAOGUAN_FIELD_KEYS"] + ",p0:" + b64(bytes(32))),  # an old key counts too
    ("JIAOGUAN_HASH_KEY", b64(b"0123456789" * 4)),
    ("JIAOGUAN_CREDENTIAL_KEYS", "c1:" + b64(b"\x01\x02" * 16)),
    ("JIAOGUAN_AUDIT_KEYS", "a1:" + b64(b"\x01\x02" * 16)),
])
def test_production_refuses_a_weak_key(tmp_path, name, value):
    r = load_settings(JIAOGUAN_ENV="production", **{**KEYS, name: value}, **SERVICES, JIAOGUAN_VAR_DIR=str(tmp_path))
    assert r.returncode != 0 and "production settings refused" in r.stderr
    assert f"{name}" in r.stderr and "weak" in r.stderr
