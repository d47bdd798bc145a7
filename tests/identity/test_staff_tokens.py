"""Bearer tokens of staff (issue 10 item 4): no longer than a console session (SESSION_COOKIE_AGE, the one
setting for both), revocable by their holder and by an administrator, audited, dead at once on revocation, on
disabling the account and on any password change. Citizens keep JIAOGUAN_TOKEN_TTL_DAYS."""
import datetime as dt

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.core.errors import NotFound
from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import rules, services
from jiaoguan.identity.models import ApiToken, User
from jiaoguan.identity.roles import PUBLIC_ROLES, STAFF_ROLES, Role
from tests.api.helpers import assert_error, get, post
from tests.identity.helpers import PASSWORD, code_for, fresh_ip, holder, register

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Qiao-Lu#8841"
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def admin():
    return services.staff_bootstrap(username="admin01", display_name="管理员", password=PASSWORD)


@pytest.fixture
def clerk(admin):
    return services.staff_create(actor=admin, username="clerk01", display_name="窗口 王明", role="clerk",
                                 password=PASSWORD, phone="13912345678")


def _api_login(login: str) -> dict:
    r = post(Client(), "auth/login", {"login": login, "password": PASSWORD, "mode": "token", "label": "测试应用"})
    assert r.status_code == 200, r.content
    return r.json()


def _me(token: str):
    return get(Client(), "me", HTTP_AUTHORIZATION=f"Bearer {token}")


def _token_row(token: str) -> ApiToken:
    from jiaoguan.identity.hashes import token_digest

    return ApiToken.objects.get(token_hash=token_digest(token))


# --- the rule --------------------------------------------------------------------------------------------------------

@given(role=st.sampled_from(sorted(STAFF_ROLES | PUBLIC_ROLES) + ["system", "", "unknown"]),
       minutes=st.integers(min_value=0, max_value=60 * 24 * 60), session=st.integers(min_value=60, max_value=86400),
       days=st.integers(min_value=1, max_value=90), stored=st.none() | st.integers(min_value=0, max_value=10**7))
def test_token_end_rule(role, minutes, session, days, stored):
    created = T0 + dt.timedelta(minutes=minutes)
    expires = None if stored is None else created + dt.timedelta(seconds=stored)
    ends = rules.token_ends_at(role=role, created_at=created, expires_at=expires, session_seconds=session,
                               public_days=days)
    limit = dt.timedelta(days=days) if role in PUBLIC_ROLES else dt.timedelta(seconds=session)
    assert ends == min(created + limit, expires) if expires is not None else ends == created + limit
    if role not in PUBLIC_ROLES:  # staff, and any role not known to be public: never longer than a session
        assert ends - created <= dt.timedelta(seconds=session)


@given(viewer=st.integers(1, 5), holder_id=st.integers(1, 5), admin=st.booleans(),
       role=st.sampled_from(sorted(STAFF_ROLES | PUBLIC_ROLES)))
def test_who_manages_whose_tokens(viewer, holder_id, admin, role):
    ok = rules.token_manageable(viewer_id=viewer, viewer_may_manage_staff=admin, holder_id=holder_id,
                                holder_role=role)
    assert ok == (viewer == holder_id or (admin and role in STAFF_ROLES))


# --- lifetime --------------------------------------------------------------------------------------------------------

def test_staff_api_token_lasts_one_console_session(clerk, clock, settings):
    assert settings.SESSION_COOKIE_AGE == 8 * 3600  # the default both the console session and staff tokens use
    clock.freeze(T0)
    body = _api_login("clerk01")
    token = body["token"]
    expires = dt.datetime.fromisoformat(body["token_expires_at"])
    assert expires == T0 + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE) <= T0 + dt.timedelta(hours=8)
    clock.advance(dt.timedelta(hours=8) - dt.timedelta(seconds=1))
    assert _me(token).status_code == 200
    clock.advance(dt.timedelta(seconds=1))
    assert_error(_me(token), 401, "core.unauthenticated")


def test_staff_tokens_follow_the_session_setting(clerk, clock, settings):
    settings.SESSION_COOKIE_AGE = 3600
    clock.freeze(T0)
    token = services.token_issue(user=clerk)
    assert _token_row(token).expires_at == T0 + dt.timedelta(hours=1)
    clock.advance(dt.timedelta(hours=1))
    assert services.user_for_token(token) is None


def test_a_staff_token_issued_for_longer_ends_after_one_session(clerk, clock, settings):
    """A staff token issued before this rule (30 days stored) stops when a session would."""
    clock.freeze(T0)
    token = services.token_issue(user=clerk)
    ApiToken.objects.update(expires_at=T0 + dt.timedelta(days=30))
    clock.advance(dt.timedelta(seconds=settings.SESSION_COOKIE_AGE - 1))
    assert services.user_for_token(token) == clerk
    clock.advance(dt.timedelta(seconds=1))
    assert services.user_for_token(token) is None


@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_every_staff_role_gets_a_session_long_token(admin, role, clock, settings):
    clock.freeze(T0)
    user = admin if role == Role.ADMIN else services.staff_create(actor=admin, username=f"s{role}",
                                                                  display_name="民警", role=role, password=PASSWORD)
    token = services.token_issue(user=user)
    assert _token_row(token).expires_at == T0 + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)


def test_citizens_keep_their_longer_tokens(clock, settings):
    citizen = register(holder())
    clock.freeze(T0)
    body = _api_login(citizen.phone)
    assert dt.datetime.fromisoformat(body["token_expires_at"]) == T0 + dt.timedelta(
        days=settings.JIAOGUAN_TOKEN_TTL_DAYS)
    clock.advance(dt.timedelta(days=settings.JIAOGUAN_TOKEN_TTL_DAYS) - dt.timedelta(seconds=1))
    assert _me(body["token"]).status_code == 200
    clock.advance(dt.timedelta(seconds=1))
    assert_error(_me(body["token"]), 401)


# --- revocation ------------------------------------------------------------------------------------------------------

def test_logging_out_of_an_app_revokes_the_token_and_is_audited(clerk):
    token = _api_login("clerk01")["token"]
    r = post(Client(), "auth/logout", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200
    assert_error(_me(token), 401)
    entry = AuditEntry.objects.get(action="token.revoke")
    row = _token_row(token)
    assert entry.object_id == str(row.pk) and entry.actor_id == clerk.pk and entry.new["via"] == "logout"
    assert token not in str(entry.new) and row.token_hash not in str(entry.new)


def test_staff_revoke_their_own_token(clerk):
    token = _api_login("clerk01")["token"]
    row = services.token_revoke_by_id(actor=clerk, token_id=_token_row(token).pk, ip="10.0.0.9")
    assert row.revoked_at is not None
    assert_error(_me(token), 401, "core.unauthenticated")
    entry = AuditEntry.objects.get(action="token.revoke")
    assert (entry.actor_id, entry.new["holder_id"], entry.new["via"], entry.new["label"]) == (
        clerk.pk, clerk.pk, "console", "测试应用")
    # again: nothing more happens, and no second audit row
    services.token_revoke_by_id(actor=clerk, token_id=row.pk)
    assert AuditEntry.objects.filter(action="token.revoke").count() == 1


def test_an_administrator_revokes_a_staff_members_token(admin, clerk):
    token = _api_login("clerk01")["token"]
    assert _me(token).status_code == 200
    services.token_revoke_by_id(actor=admin, token_id=_token_row(token).pk)
    assert_error(_me(token), 401)
    entry = AuditEntry.objects.get(action="token.revoke")
    assert entry.actor_id == admin.pk and entry.new["holder_id"] == clerk.pk


@pytest.mark.parametrize("role", ["clerk", "approver", "auditor"])
def test_other_staff_cannot_revoke_someone_elses_token(admin, clerk, role):
    other = services.staff_create(actor=admin, username=f"o{role}", display_name="民警", role=role,
                                  password=PASSWORD)
    for holder_user in (clerk, admin):
        token = services.token_issue(user=holder_user)
        with pytest.raises(NotFound):
            services.token_revoke_by_id(actor=other, token_id=_token_row(token).pk)
        assert services.user_for_token(token) == holder_user
    with pytest.raises(NotFound):
        services.token_revoke_by_id(actor=other, token_id=10**9)
    assert not AuditEntry.objects.filter(action="token.revoke").exists()


def test_an_administrator_cannot_revoke_a_citizens_token(admin):
    citizen = register(holder())
    token = services.token_issue(user=citizen)
    with pytest.raises(NotFound):
        services.token_revoke_by_id(actor=admin, token_id=_token_row(token).pk)
    assert services.user_for_token(token) == citizen


def test_a_disabled_administrator_revokes_only_their_own(admin, clerk):
    other_admin = services.staff_create(actor=admin, username="admin02", display_name="管理员二", role="admin",
                                        password=PASSWORD)
    token = services.token_issue(user=clerk)
    services.staff_set_active(actor=other_admin, user=admin, active=False)
    admin.refresh_from_db()
    with pytest.raises(NotFound):
        services.token_revoke_by_id(actor=admin, token_id=_token_row(token).pk)


# --- disabling and password changes end tokens -------------------------------------------------------------------

def test_disabling_a_staff_member_ends_their_tokens_at_the_next_call(admin, clerk):
    token = _api_login("clerk01")["token"]
    services.staff_set_active(actor=admin, user=clerk, active=False)
    assert_error(_me(token), 401)
    assert _token_row(token).revoked_at is not None
    entry = AuditEntry.objects.get(action="staff.deactivate")
    assert entry.new["tokens_revoked"] == 1
    services.staff_set_active(actor=admin, user=clerk, active=True)
    assert_error(_me(token), 401)  # re-enabling brings no old token back


def test_a_password_reset_ends_a_staff_members_tokens(clerk):
    token = _api_login("clerk01")["token"]
    code = code_for(clerk.phone, purpose="reset")
    services.password_reset(phone=clerk.phone, code=code, new_password=NEW_PASSWORD, ip=fresh_ip())
    assert_error(_me(token), 401)


def test_any_password_change_ends_tokens(clerk):
    """Also one made outside the services (``manage.py changepassword``, the shell): the token's password stamp
    no longer matches."""
    token = _api_login("clerk01")["token"]
    citizen = register(holder())
    citizen_token = services.token_issue(user=citizen)
    for user in (User.objects.get(pk=clerk.pk), User.objects.get(pk=citizen.pk)):
        user.set_password(NEW_PASSWORD)
        user.save()
    assert_error(_me(token), 401)
    assert services.user_for_token(citizen_token) is None
    assert _token_row(token).revoked_at is None  # not revoked: it simply no longer matches the password
    fresh = services.token_issue(user=User.objects.get(pk=clerk.pk))
    assert _me(fresh).status_code == 200


def test_saving_the_account_without_a_new_password_keeps_tokens(clerk):
    token = services.token_issue(user=clerk)
    user = User.objects.get(pk=clerk.pk)
    user.display_name = "窗口 王明明"
    user.save()
    assert services.user_for_token(token).pk == clerk.pk


def test_the_migration_stamps_live_tokens_as_the_service_does(clerk):
    """identity.0005 gives tokens issued before it the stamp of the password now, so they keep working; a token
    without a stamp never works."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("jiaoguan.identity.migrations.0005_apitoken_password_stamp")
    token = services.token_issue(user=clerk)
    ApiToken.objects.update(password_stamp="")
    assert services.user_for_token(token) is None
    migration.stamp_live_tokens(apps, None)
    assert services.user_for_token(token).pk == clerk.pk
