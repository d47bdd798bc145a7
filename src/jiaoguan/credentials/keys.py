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
import secrets
from pathlib import Path

from jiaoguan.core.keys import ensure_dev_key_list, load_key_list, parse_key_list

ENV_NAME = "JIAOGUAN_CREDENTIAL_KEYS"
DEV_FILE = "credential-keys.json"


def parse_signing_keys(spec: str) -> list[tuple[str, bytes]]:
    """Ed25519 private keys (raw 32 bytes) of ``JIAOGUAN_CREDENTIAL_KEYS``; the first one signs."""
    return parse_key_list(spec, env_name=ENV_NAME, what="credential key")


def new_dev_spec() -> str:
    return "cdev1:" + base64.b64encode(secrets.token_bytes(32)).decode()


def ensure_dev_keys(var_dir: Path) -> str:
    """Read var/credential-keys.json, creating it (atomically, once) if it does not exist."""
    return ensure_dev_key_list(var_dir, env_name=ENV_NAME, dev_file=DEV_FILE, dev_kid="cdev1")


def load_signing_keys(*, production: bool, var_dir: Path) -> list[tuple[str, bytes]]:
    return load_key_list(env_name=ENV_NAME, dev_file=DEV_FILE, dev_kid="cdev1", what="credential key",
                         production=production, var_dir=var_dir)
