"""Secrets: loaded from the environment; generated into var/ for development; required in production.

Environment:
- ``JIAOGUAN_SECRET_KEY``: Django's secret key.
- ``JIAOGUAN_FIELD_KEYS``: ``kid:base64key,kid:base64key`` AES-256-GCM keys for personal fields. The first one
  encrypts; every listed one decrypts, so a new key is put first and the old one kept until
  ``manage.py rotate_field_keys`` has re-encrypted every row.
- ``JIAOGUAN_HASH_KEY``: base64 key of the keyed lookup hash (HMAC-SHA256) stored beside encrypted fields.

Production also refuses a weak key (``key_strength_problems``): a secret key shorter than 50 characters, with
fewer than 5 different characters or Django's ``django-insecure-`` prefix (Django's own security.W009 rule, made
a refusal), and a binary key (field, hash, signing) with fewer than 16 different byte values (a random 32-byte
key has about 30; 16 or fewer is a typed pattern such as ``AAAA…``, not a random key).
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Keys:
    secret_key: str
    field_keys: list[tuple[str, bytes]]
    hash_key: bytes


def parse_key_list(spec: str, *, env_name: str, what: str, length: int = 32) -> list[tuple[str, bytes]]:
    """``kid:base64key,kid:base64key`` (the form of every key list in the environment): the first key is the
    one in use, the others are kept for reading what they made. Refuses (ImproperlyConfigured) a malformed
    entry, a key id that is not 1–32 letters, digits, ``-_.``, a key of the wrong length, a duplicate id, and
    an empty list."""
    keys: list[tuple[str, bytes]] = []
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        kid, sep, b64 = part.partition(":")
        if not sep or not kid:
            raise ImproperlyConfigured(f"{env_name} entries must be kid:base64key")
        if len(kid) > 32 or not all(c.isalnum() or c in "-_." for c in kid):
            raise ImproperlyConfigured(f"{env_name}: key id {kid!r} must be at most 32 letters, digits, - _ .")
        try:
            key = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(f"{what} {kid!r} is not valid base64") from None
        if len(key) != length:
            raise ImproperlyConfigured(f"{what} {kid!r} must be {length} bytes")
        keys.append((kid, key))
    if not keys:
        raise ImproperlyConfigured(f"{env_name} is empty")
    if len({kid for kid, _ in keys}) != len(keys):
        raise ImproperlyConfigured(f"{env_name} has a duplicate key id")
    return keys


SECRET_KEY_MIN_LENGTH = 50  # Django's security.W009
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5
SECRET_KEY_INSECURE_PREFIX = "django-insecure-"
BINARY_KEY_MIN_UNIQUE_BYTES = 16


def secret_key_problem(value: str, *, env_name: str = "JIAOGUAN_SECRET_KEY") -> str | None:
    """Why ``value`` is too weak for Django's SECRET_KEY (Django's security.W009 rule), or None."""
    if (len(value) < SECRET_KEY_MIN_LENGTH or len(set(value)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
            or value.startswith(SECRET_KEY_INSECURE_PREFIX)):
        return (f"{env_name} is weak: it needs at least {SECRET_KEY_MIN_LENGTH} characters, at least "
                f"{SECRET_KEY_MIN_UNIQUE_CHARACTERS} different ones, and not the prefix {SECRET_KEY_INSECURE_PREFIX!r} "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')")
    return None


def binary_key_problem(key: bytes, *, what: str) -> str | None:
    """Why a random binary key (AES field key, hash key, signing seed) looks typed rather than random, or None."""
    if len(set(key)) < BINARY_KEY_MIN_UNIQUE_BYTES:
        return (f"{what} is weak: fewer than {BINARY_KEY_MIN_UNIQUE_BYTES} different byte values, not a random key "
                "(generate one with: python -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())')")
    return None


def key_list_problems(keys: list[tuple[str, bytes]], *, env_name: str) -> list[str]:
    """The weak keys of a parsed ``kid:base64key`` list."""
    return [p for kid, key in keys if (p := binary_key_problem(key, what=f"{env_name} key {kid!r}"))]


def parse_field_keys(spec: str) -> list[tuple[str, bytes]]:
    """AES-256-GCM keys for personal fields (``JIAOGUAN_FIELD_KEYS``)."""
    return parse_key_list(spec, env_name="JIAOGUAN_FIELD_KEYS", what="field key (AES-256)")


def new_dev_keys() -> dict[str, str]:
    return {
        "JIAOGUAN_SECRET_KEY": secrets.token_urlsafe(50),
        "JIAOGUAN_FIELD_KEYS": "dev1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "JIAOGUAN_HASH_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


def _json_file_once(path: Path, make: Callable[[], dict[str, str]]) -> dict[str, str]:
    """Read a JSON secrets file, creating it from ``make()`` (mode 600, atomically, once: concurrent first starts
    agree on the winner's content) if it does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(make(), indent=2))
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # fails if another process won the race: keep theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    values: dict[str, str] = json.loads(path.read_text())
    return values


def ensure_dev_keys(var_dir: Path) -> dict[str, str]:
    """Read var/dev-keys.json, creating it (atomically, once) if it does not exist."""
    return _json_file_once(var_dir / "dev-keys.json", new_dev_keys)


def load_keys(*, production: bool, var_dir: Path) -> Keys:
    names = ("JIAOGUAN_SECRET_KEY", "JIAOGUAN_FIELD_KEYS", "JIAOGUAN_HASH_KEY")
    values = {n: os.environ.get(n) or "" for n in names}
    missing = [n for n, v in values.items() if not v]
    if missing:
        if production:
            raise ImproperlyConfigured(f"production needs these secrets in the environment: {', '.join(missing)}")
        dev = ensure_dev_keys(var_dir)
        for n in missing:
            values[n] = dev[n]
    try:
        hash_key = base64.b64decode(values["JIAOGUAN_HASH_KEY"], validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured("JIAOGUAN_HASH_KEY is not valid base64") from None
    if len(hash_key) < 32:
        raise ImproperlyConfigured("JIAOGUAN_HASH_KEY must be at least 32 bytes")
    keys = Keys(
        secret_key=values["JIAOGUAN_SECRET_KEY"],
        field_keys=parse_field_keys(values["JIAOGUAN_FIELD_KEYS"]),
        hash_key=hash_key,
    )
    if production:
        problems = [secret_key_problem(keys.secret_key), binary_key_problem(hash_key, what="JIAOGUAN_HASH_KEY"),
                    *key_list_problems(keys.field_keys, env_name="JIAOGUAN_FIELD_KEYS")]
        weak = [p for p in problems if p]
        if weak:
            raise ImproperlyConfigured("production settings refused: " + "; ".join(weak))
    return keys


def ensure_dev_key_list(var_dir: Path, *, env_name: str, dev_file: str, dev_kid: str) -> str:
    """Read a ``kid:base64`` list from var/<dev_file>, creating it with one random 32-byte key (atomically, once:
    concurrent first starts agree) if it does not exist."""
    return _json_file_once(Path(var_dir) / dev_file, lambda: {
        env_name: f"{dev_kid}:" + base64.b64encode(secrets.token_bytes(32)).decode()})[env_name]


def load_key_list(*, env_name: str, dev_file: str, dev_kid: str, what: str, production: bool,
                  var_dir: Path) -> list[tuple[str, bytes]]:
    """A ``kid:base64key,…`` list of 32-byte signing keys (first signs, all verify) from the environment; in
    development generated once into var/<dev_file>; production refuses to start without it or with a weak key."""
    spec = os.environ.get(env_name, "")
    if not spec:
        if production:
            raise ImproperlyConfigured(f"production needs these secrets in the environment: {env_name}")
        spec = ensure_dev_key_list(var_dir, env_name=env_name, dev_file=dev_file, dev_kid=dev_kid)
    keys = parse_key_list(spec, env_name=env_name, what=what)
    weak = key_list_problems(keys, env_name=env_name) if production else []
    if weak:
        raise ImproperlyConfigured("production settings refused: " + "; ".join(weak))
    return keys
