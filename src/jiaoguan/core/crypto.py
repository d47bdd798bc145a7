"""Encryption of personal fields (AES-256-GCM with a key id) and the keyed lookup hash beside them.

Ciphertext format: ``enc1:<kid>:<base64(nonce 12 bytes + ciphertext + tag)>``. The key id tells which key of
``settings.JIAOGUAN_FIELD_KEYS`` decrypts it, so keys rotate without downtime: put the new key first, keep the
old one, run ``manage.py rotate_field_keys``, then remove the old one.

The lookup hash (HMAC-SHA256 over the normalised value with ``JIAOGUAN_HASH_KEY``) is what exact-match queries
use (``Person.objects.filter(id_number_hash=lookup_hash(number))``); it does not change when field keys rotate.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

PREFIX = "enc1"


class DecryptionError(Exception):
    pass


def _keys() -> list[tuple[str, bytes]]:
    return settings.JIAOGUAN_FIELD_KEYS


def active_key_id() -> str:
    return _keys()[0][0]


def encrypt(plaintext: str, *, aad: bytes = b"") -> str:
    kid, key = _keys()[0]
    nonce = os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), aad)
    return f"{PREFIX}:{kid}:{base64.b64encode(nonce + ct).decode()}"


def key_id_of(token: str) -> str | None:
    parts = token.split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] == PREFIX else None


def decrypt(token: str, *, aad: bytes = b"") -> str:
    try:
        prefix, kid, payload = token.split(":", 2)
    except ValueError:
        raise DecryptionError("not an encrypted value") from None
    if prefix != PREFIX:
        raise DecryptionError("unknown ciphertext format")
    key = dict(_keys()).get(kid)
    if key is None:
        raise DecryptionError(f"no key with id {kid!r} is configured")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionError("ciphertext is not valid base64") from None
    if len(raw) < 12 + 16:  # nonce + GCM tag
        raise DecryptionError("ciphertext is too short")
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], aad).decode("utf-8")
    except InvalidTag:
        raise DecryptionError("ciphertext was altered or the key is wrong") from None


def lookup_hash(value: str, *, purpose: str = "") -> str:
    """Keyed hash for exact lookups. ``purpose`` separates domains (an ID number and a phone never collide)."""
    msg = f"{purpose}\x1f{value}".encode()
    return hmac.new(settings.JIAOGUAN_HASH_KEY, msg, hashlib.sha256).hexdigest()
