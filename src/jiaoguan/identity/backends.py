"""Django authentication backend: log in by phone (citizens) or username (staff), through the same checks as
the API (lockout, same answer for unknown login and wrong password, argon2 upgrade on login).

``authenticate()`` answers None for wrong credentials; a locked account raises the 423 domain error, which the
pages render with the unlock time (core.middleware) instead of a bare "wrong password".
"""
from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

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

    # get_user / permissions come from ModelBackend: an inactive user's session stops authenticating.
