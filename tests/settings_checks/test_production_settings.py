"""Production refuses to start with development defaults (run in a subprocess: settings load once per process)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "JIAOGUAN_SECRET_KEY": "x" * 50,
    "JIAOGUAN_FIELD_KEYS": "p1:" + "A" * 43 + "=",
    "JIAOGUAN_HASH_KEY": "B" * 44,
    "JIAOGUAN_CREDENTIAL_KEYS": "c1:" + "C" * 43 + "=",
}


def load_settings(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JIAOGUAN_", "DATABASE_URL", "REDIS_URL"))}
    clean.update(env, DJANGO_SETTINGS_MODULE="jiaoguan.settings", PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, "-c", "import django; django.setup(); print('started')"],
                          env=clean, capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_production_without_secrets_refuses():
    r = load_settings(JIAOGUAN_ENV="production")
    assert r.returncode != 0 and "JIAOGUAN_SECRET_KEY" in r.stderr


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
