"""API bearer tokens: issue, revoke, look up.

A token works until the earliest of: its end (identity.rules.token_ends_at: a staff member's no longer than a
console session, SESSION_COOKIE_AGE; a citizen's or an enterprise's JIAOGUAN_TOKEN_TTL_DAYS), its revocation,
the account being disabled, or the account's password changing (the token's ``password_stamp``). Every
revocation of one token is audited ("token.revoke"); the bulk revocations of a password reset, a phone change
or a disabled staff account are counted in that change's own audit row.
"""
from __future__ import annotations

import functools
import secrets
from typing import Any

from django.db import connection, transaction

from jiaoguan.core import clock, rows
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import not_found
from jiaoguan.core.locks import lock_row
from jiaoguan.identity import rules
from jiaoguan.identity.hashes import password_stamp, token_digest
from jiaoguan.identity.models import ApiToken, User
from jiaoguan.identity.roles import has_permission
from jiaoguan.identity.selectors import token_ends_at, token_works
from jiaoguan.identity.services._common import _disabled, _plain

TOKEN_PREFIX = "jgt_"
# the registry's person, reached through the account (identity does not import the registry's models)
Person: Any = User._meta.get_field("person").related_model


def _token_not_found():
    return not_found("令牌", "token")


def _revoked_audit(*, actor: Actor, row: ApiToken, via: str) -> None:
    audit_record(actor=actor, action="token.revoke", obj=row, subject_person_id=row.user.person_id,
                 old={"revoked": False},
                 new={"revoked": True, "holder_id": row.user_id, "label": row.label, "via": via})


# --- API tokens -------------------------------------------------------------------------------------------------

def token_issue(*, user: User, label: str = "") -> str:
    """A bearer token for an app: returned once, stored as a SHA-256, valid until rules.token_ends_at (a staff
    member's for one console session, a citizen's JIAOGUAN_TOKEN_TTL_DAYS) and while the password stays."""
    if not user.is_active:
        raise _disabled()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    with transaction.atomic():
        ApiToken.objects.create(user=user, token_hash=token_digest(token), label=_plain(label, limit=60),
                                created_at=now, expires_at=token_ends_at(role=user.role, created_at=now),
                                password_stamp=password_stamp(user.password))
    return token


def token_revoke(*, user: User, token: str, ip: str = "") -> None:
    """Revoke one of the user's own tokens by its value (logging out of an app); 404 for anyone else's or an
    unknown one. Audited."""
    with transaction.atomic():
        pk = (ApiToken.objects.filter(user=user, token_hash=token_digest(str(token or "")), revoked_at__isnull=True)
              .values_list("pk", flat=True).first())
        row = lock_row(ApiToken, pk, related=("user",)) if pk is not None else None
        if row is None or row.revoked_at is not None:
            raise _token_not_found()
        row.revoked_at = clock.now()
        row.save(update_fields=["revoked_at"])
        _revoked_audit(actor=Actor.of(user, ip), row=row, via="logout")


def token_revoke_by_id(*, actor: User, token_id: int, ip: str = "") -> ApiToken:
    """Revoke a token listed in the console: the actor's own, or (an administrator: "staff.manage") a staff
    member's. Any other token, or an unknown id, is a 404 (the same answer, so ids cannot be probed). Revoking a
    token already revoked changes nothing. The next API call with the token is a 401. Audited."""
    with transaction.atomic():
        row = lock_row(ApiToken, token_id, related=("user",))
        if row is None or not rules.token_manageable(
                viewer_id=actor.pk, viewer_may_manage_staff=has_permission(actor, "staff.manage"),
                holder_id=row.user_id, holder_role=row.user.role):
            raise _token_not_found()
        if row.revoked_at is not None:
            return row
        row.revoked_at = clock.now()
        row.save(update_fields=["revoked_at"])
        _revoked_audit(actor=Actor.of(actor, ip), row=row, via="console")
    return row


def user_for_token(token: str) -> User | None:
    """The active user a live token belongs to, or None. Notes when it was last used (at most every 5 min).

    Every API request with a bearer token asks this, so it is one indexed statement, written by hand
    (core.rows): the token, its user and the user's person in one join, without the ORM's per-call query
    compilation. Revocation, expiry, a disabled account and a changed password still take effect at once:
    nothing is cached between requests."""
    if not token or not isinstance(token, str) or len(token) > 200 or not token.startswith(TOKEN_PREFIX):
        return None
    now = clock.now()
    found = rows.fetchone(_TOKEN_SQL(), [token_digest(token), rows.param(ApiToken, "expires_at", now)])
    if found is None:
        return None
    row = rows.instance(ApiToken, found)
    user = rows.instance(User, found, start=rows.width(ApiToken))
    person_start = rows.width(ApiToken) + rows.width(User)
    user.person = rows.instance(Person, found, start=person_start) if found[person_start] is not None else None
    row.user = user
    if not token_works(row=row, now=now):
        return None
    if row.last_used_at is None or now - row.last_used_at > rules.TOKEN_USE_NOTED_EVERY:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return user


@functools.cache
def _TOKEN_SQL() -> str:  # noqa: N802 - a constant, built once the models are loaded
    qn = connection.ops.quote_name
    return (f"SELECT {rows.columns(ApiToken, 't')}, {rows.columns(User, 'u')}, {rows.columns(Person, 'p')} "
            f"FROM {qn(ApiToken._meta.db_table)} t "
            f"JOIN {qn(User._meta.db_table)} u ON u.{qn('id')} = t.{qn('user_id')} "
            f"LEFT JOIN {qn(Person._meta.db_table)} p ON p.{qn('id')} = u.{qn('person_id')} "
            f"WHERE t.{qn('token_hash')} = %s AND t.{qn('revoked_at')} IS NULL AND t.{qn('expires_at')} > %s")
