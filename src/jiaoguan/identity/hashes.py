"""The lookup digests of the identity app, shared by its services and selectors (and the demo), so neither
imports the other for them: a phone number's keyed lookup hash, an API token's SHA-256, the password stamp a
token carries."""
from __future__ import annotations

import hashlib

from jiaoguan.core import crypto


def phone_hash(phone: str) -> str:
    """The keyed lookup hash of a (validated) phone number: the same for User.phone, Person.phone and SmsCode."""
    return crypto.lookup_hash(phone, purpose="phone")


def token_digest(token: str) -> str:
    """What ApiToken.token_hash stores for a bearer token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def password_stamp(password_hash: str) -> str:
    """What ApiToken.password_stamp stores: a SHA-256 of the account's (salted) password hash when the token was
    issued. A token whose stamp is not that of the account's password now stops working, so any change of the
    password (the reset service, ``manage.py changepassword``, the shell) ends every token, as it ends sessions."""
    return hashlib.sha256(("jiaoguan.token-password:" + (password_hash or "")).encode("utf-8")).hexdigest()
