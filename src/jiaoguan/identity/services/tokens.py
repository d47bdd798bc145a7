"""API bearer tokens: issue, revoke, look up."""
from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import transaction

from jiaoguan.core import clock
from jiaoguan.core.errors import not_found
from jiaoguan.identity.hashes import token_digest
from jiaoguan.identity.models import ApiToken, User
from jiaoguan.identity.services._common import _disabled, _plain

TOKEN_PREFIX = "jgt_"


# --- API tokens -------------------------------------------------------------------------------------------------

def token_issue(*, user: User, label: str = "") -> str:
    """A bearer token for an app: returned once, stored as a SHA-256, valid JIAOGUAN_TOKEN_TTL_DAYS."""
    if not user.is_active:
        raise _disabled()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    with transaction.atomic():
        ApiToken.objects.create(user=user, token_hash=token_digest(token), label=_plain(label, limit=60),
                                created_at=now, expires_at=now + dt.timedelta(days=settings.JIAOGUAN_TOKEN_TTL_DAYS))
    return token


def token_revoke(*, user: User, token: str) -> None:
    """Revoke one of the user's own tokens (404 for anyone else's or an unknown one)."""
    with transaction.atomic():
        done = ApiToken.objects.filter(user=user, token_hash=token_digest(str(token or "")),
                                       revoked_at__isnull=True).update(revoked_at=clock.now())
    if not done:
        raise not_found("令牌", "token")


def user_for_token(token: str) -> User | None:
    """The active user a live token belongs to, or None. Notes when it was last used (at most every 5 min)."""
    if not token or not isinstance(token, str) or len(token) > 200 or not token.startswith(TOKEN_PREFIX):
        return None
    now = clock.now()
    row = (ApiToken.objects.select_related("user", "user__person")
           .filter(token_hash=token_digest(token), revoked_at__isnull=True, expires_at__gt=now).first())
    if row is None or not row.user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=5):
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user
