"""The session engine (identity.sessions) and the backend's get_user: the page's two reads are prepared
hand-written statements, with Django's behaviour kept — an expired session, an unknown key, a disabled account and
a changed password all end the session; the user comes back decrypted like a queried one."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from jiaoguan.identity.sessions import SessionStore
from tests.portal.support import citizen

pytestmark = pytest.mark.django_db


def test_a_session_is_read_by_its_key_until_it_expires():
    store = SessionStore()
    store["n"] = 1
    store.save()
    assert SessionStore(session_key=store.session_key).load() == {"n": 1}
    Session.objects.filter(session_key=store.session_key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    again = SessionStore(session_key=store.session_key)
    assert again.load() == {} and again.session_key is None
    assert SessionStore(session_key="x" * 32).load() == {}


def test_signed_in_pages_keep_the_user_until_the_account_or_password_changes(client):
    user, person, _lic, _ = citizen()
    client.force_login(user)
    r = client.get("/me/")
    assert r.status_code == 200 and r.context["user"].pk == user.pk
    assert r.context["user"].phone == user.phone  # decrypted as the ORM decrypts it
    user.set_password("another-Pa55word!")
    user.save()
    assert client.get("/me/").status_code == 302  # the session's password hash no longer matches
    client.force_login(user)
    assert client.get("/me/").status_code == 200
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/me/").status_code == 302
