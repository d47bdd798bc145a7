"""Signatures of e-credentials: Ed25519 (the ``cryptography`` package) or, without it, HMAC-SHA256 — each with a
key id, so keys can be rotated (see keys.py). The algorithm and key id are stored on the row and are part of the
signed content (rules.canonical_content)."""
from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from django.conf import settings

try:  # the cryptography package comes with the project's dependencies; HMAC is the fallback
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
except ImportError:  # pragma: no cover - exercised only where cryptography is missing
    Ed25519PrivateKey = None

ED25519 = "ed25519"
HMAC_SHA256 = "hmac-sha256"
ALGORITHM = ED25519 if Ed25519PrivateKey is not None else HMAC_SHA256


@lru_cache(maxsize=1)
def keys() -> tuple[tuple[str, bytes], ...]:
    """(key id, 32-byte secret), first = signing key: ``settings.JIAOGUAN_CREDENTIAL_KEYS`` (loaded by the settings
    with keys.load_signing_keys, a list like JIAOGUAN_FIELD_KEYS; production refuses to start without them)."""
    return tuple((str(k), bytes(v)) for k, v in settings.JIAOGUAN_CREDENTIAL_KEYS)


def reset() -> None:
    """Forget the loaded keys (tests that rotate them)."""
    keys.cache_clear()


def active_key_id() -> str:
    return keys()[0][0]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(message: bytes) -> tuple[str, str, str]:
    """(algorithm, key id, signature) for ``message`` with the active key. ``message`` must already name the
    algorithm and key id (content_for), so call ``active_key_id()`` / ``ALGORITHM`` first."""
    kid, secret = keys()[0]
    if ALGORITHM == ED25519:
        return ED25519, kid, _b64(Ed25519PrivateKey.from_private_bytes(secret).sign(message))
    return HMAC_SHA256, kid, _b64(hmac.new(secret, message, hashlib.sha256).digest())


def verify(message: bytes, *, algorithm: str, key_id: str, signature: str) -> bool:
    """True only for a well-formed signature by a known key with the algorithm we can check."""
    secret = dict(keys()).get(key_id)
    if secret is None:
        return False
    try:
        raw = _unb64(signature or "")
    except (ValueError, TypeError):
        return False
    if algorithm == ED25519 and Ed25519PrivateKey is not None:
        try:
            Ed25519PrivateKey.from_private_bytes(secret).public_key().verify(raw, message)
        except InvalidSignature:
            return False
        return True
    if algorithm == HMAC_SHA256:
        return hmac.compare_digest(raw, hmac.new(secret, message, hashlib.sha256).digest())
    return False


def public_keys() -> list[dict]:
    """The Ed25519 public keys (raw, base64url) by key id, for verifiers outside the platform; [] with HMAC."""
    if ALGORITHM != ED25519:
        return []
    out = []
    for kid, secret in keys():
        pub: Ed25519PublicKey = Ed25519PrivateKey.from_private_bytes(secret).public_key()
        out.append({"kid": kid, "alg": ED25519, "public_key": _b64(pub.public_bytes(Encoding.Raw, PublicFormat.Raw))})
    return out
