"""Signing keys of e-credentials: from the environment; generated into var/ for development; required in production.

The same pattern as ``core.keys`` (field keys):

- ``JIAOGUAN_CREDENTIAL_KEYS``: ``kid:base64key,kid:base64key`` — 32-byte secrets. The first one signs; every
  listed one verifies, so a new key is put first and the old one kept while credentials it signed are still in
  force. With the ``cryptography`` package each secret is an Ed25519 private key (seed) and anyone can check a
  signature with the public key (``GET /api/v1/credentials/keys``); without it, HMAC-SHA256 (checkable here only).
- Development: generated once into ``var/credential-keys.json`` (atomically: concurrent first starts agree).
- ``JIAOGUAN_ENV=production`` refuses to start without the variable, or with a weak key (``core.keys.binary_key_problem``;
  settings.py loads the keys).
"""
from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from jiaoguan.core.keys import key_list_problems, parse_key_list

ENV_NAME = "JIAOGUAN_CREDENTIAL_KEYS"
DEV_FILE = "credential-keys.json"


def parse_signing_keys(spec: str) -> list[tuple[str, bytes]]:
    """Ed25519 private keys (raw 32 bytes) of ``JIAOGUAN_CREDENTIAL_KEYS``; the first one signs."""
    return parse_key_list(spec, env_name=ENV_NAME, what="credential key")


def new_dev_spec() -> str:
    return "cdev1:" + base64.b64encode(secrets.token_bytes(32)).decode()


def ensure_dev_keys(var_dir: Path) -> str:
    """Read var/credential-keys.json, creating it (atomically, once) if it does not exist."""
    path = Path(var_dir) / DEV_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({ENV_NAME: new_dev_spec()}, indent=2))
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # fails if another process won the race: keep theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return json.loads(path.read_text())[ENV_NAME]


def load_signing_keys(*, production: bool, var_dir: Path) -> list[tuple[str, bytes]]:
    spec = os.environ.get(ENV_NAME, "")
    if not spec:
        if production:
            raise ImproperlyConfigured(f"production needs these secrets in the environment: {ENV_NAME}")
        spec = ensure_dev_keys(var_dir)
    keys = parse_signing_keys(spec)
    weak = key_list_problems(keys, env_name=ENV_NAME) if production else []
    if weak:
        raise ImproperlyConfigured("production settings refused: " + "; ".join(weak))
    return keys
