"""Django authentication backend: log in by phone (citizens) or username (staff), through the same checks as
the API (lockout, same answer for unknown login and wrong password, argon2 upgrade on login).

``authenticate()`` answers None for wrong credentials; a locked account raises the 423 domain error, which the
pages render with the unlock time (core.middleware) instead of a bare "wrong password".
"""
from __future__ import annotations

from functools import cache

from django.contrib.auth.backends import ModelBackend
from django.db import connection

from jiaoguan.core import rows
from jiaoguan.core.errors import InvalidInput, Unauthenticated
from jiaoguan.core.http import client_ip
from jiaoguan.identity.services import login_with_password


class PhoneOrUsernameBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        login = username if username is not None else kwargs.get("phone") or kwargs.get("login")
        if not login or password is None:
            return None
        ip = client_ip(request) if request is not None else "unknown"
        try:
            return login_with_password(login=login, password=password, ip=ip)
        except (Unauthenticated, InvalidInput):
            return None

    def get_user(self, user_id):
        """The signed-in user of every page (as ``ModelBackend.get_user``: an inactive user's session stops
        authenticating), read by a prepared hand-written statement (``core.rows``) instead of a compiled query."""
        from jiaoguan.identity.models import User

        if not isinstance(user_id, int):
            try:
                user_id = int(user_id)
            except (TypeError, ValueError):
                return None
        values = rows.fetchone(_user_sql(), [user_id])
        if values is None:
            return None
        user = rows.instance(User, values)
        return user if self.user_can_authenticate(user) else None

    # permissions come from ModelBackend


@cache
def _user_sql() -> str:
    from jiaoguan.identity.models import User

    qn = connection.ops.quote_name
    return f"SELECT {rows.columns(User, 'u')} FROM {qn(User._meta.db_table)} u WHERE u.id = %s"
