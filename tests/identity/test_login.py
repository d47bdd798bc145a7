"""Login by password and by SMS code, lockout and unlock with a moved clock, password reset, API tokens."""
import datetime as dt

import pytest
from django.contrib.auth import authenticate

from jiaoguan.core.errors import Forbidden, InvalidInput, Locked, NotFound, RateLimited, Unauthenticated
from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import services
from jiaoguan.identity.models import ApiToken, User
from jiaoguan.notifications.models import Message
from tests.factories import unique_phone
from tests.identity.helpers import PASSWORD, code_for, fresh_ip, holder, later, register, sms_texts, wrong

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Qiao-Lu#8841"


@pytest.fixture
def citizen():
    return register(holder())


@pytest.fixture
def admin():
    return services.staff_bootstrap(username="admin01", display_name="管理员", password=PASSWORD)


def _fail(login, password="Wrong-Pass#1"):
    return services.login_with_password(login=login, password=password, ip=fresh_ip())


def test_login_by_phone(citizen):
    user = services.login_with_password(login=citizen.phone, password=PASSWORD, ip=fresh_ip())
    assert user.pk == citizen.pk and user.last_login is not None


def test_login_by_phone_in_another_spelling(citizen):
    p = citizen.phone
    assert services.login_with_password(login=f"+86 {p[:3]} {p[3:7]} {p[7:]}", password=PASSWORD, ip=fresh_ip()).pk


def test_staff_log_in_by_username_and_are_audited(admin):
    user = services.login_with_password(login="admin01", password=PASSWORD, ip="192.0.2.4")
    assert user.pk == admin.pk
    entry = AuditEntry.objects.filter(action="staff.login").get()
    assert entry.actor_id == admin.pk and entry.ip == "192.0.2.4"


def test_citizens_cannot_log_in_by_username(citizen):
    with pytest.raises(Unauthenticated):
        _fail(citizen.username, PASSWORD)


def test_wrong_password_and_unknown_phone_give_the_same_error(citizen):
    with pytest.raises(Unauthenticated) as wrong_password:
        _fail(citizen.phone)
    with pytest.raises(Unauthenticated) as unknown:
        _fail(unique_phone())
    with pytest.raises(Unauthenticated) as unknown_user:
        _fail("nobody01")
    a, b, c = wrong_password.value, unknown.value, unknown_user.value
    assert (a.code, a.zh, a.en, a.status) == (b.code, b.zh, b.en, b.status) == (c.code, c.zh, c.en, c.status) \
        == ("identity.bad_credentials", a.zh, a.en, 401)


@pytest.mark.parametrize("login", ["", " ", "x" * 65, "13800138000" * 3])
def test_odd_logins_are_just_wrong(login):
    with pytest.raises(Unauthenticated):
        _fail(login)


def test_lockout_after_max_failures_and_unlock_with_a_moved_clock(citizen, clock, settings):
    clock.freeze(dt.datetime(2026, 3, 2, 10, 0))
    for _ in range(settings.JIAOGUAN_LOGIN_MAX_FAILURES - 1):
        with pytest.raises(Unauthenticated):
            _fail(citizen.phone)
    with pytest.raises(Locked) as exc:  # the failure that reaches the limit locks
        _fail(citizen.phone)
    err = exc.value
    assert err.status == 423 and err.code == "identity.account_locked"
    assert "2026-03-02 10:30" in err.zh and "2026-03-02 10:30" in err.en
    citizen.refresh_from_db()
    assert citizen.locked_until == dt.datetime(2026, 3, 2, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    # even the right password is refused while locked
    with pytest.raises(Locked):
        services.login_with_password(login=citizen.phone, password=PASSWORD, ip=fresh_ip())
    # the holder is told by SMS and in the inbox; the lock is audited
    assert any("锁定30分钟" in t for t in sms_texts(citizen.phone))
    assert Message.objects.filter(recipient=citizen, template_code="account.locked", channel="inbox").exists()
    assert AuditEntry.objects.filter(action="account.lock", object_id=str(citizen.pk)).count() == 1
    clock.advance(dt.timedelta(minutes=29, seconds=59))
    with pytest.raises(Locked):
        services.login_with_password(login=citizen.phone, password=PASSWORD, ip=fresh_ip())
    clock.advance(dt.timedelta(seconds=1))
    assert services.login_with_password(login=citizen.phone, password=PASSWORD, ip=fresh_ip()).pk == citizen.pk
    citizen.refresh_from_db()
    assert citizen.failed_logins == 0 and citizen.locked_until is None


def test_success_resets_the_failure_count(citizen, settings):
    for _ in range(settings.JIAOGUAN_LOGIN_MAX_FAILURES - 1):
        with pytest.raises(Unauthenticated):
            _fail(citizen.phone)
    services.login_with_password(login=citizen.phone, password=PASSWORD, ip=fresh_ip())
    for _ in range(settings.JIAOGUAN_LOGIN_MAX_FAILURES - 1):
        with pytest.raises(Unauthenticated):
            _fail(citizen.phone)
    assert User.objects.get(pk=citizen.pk).locked_until is None


def test_lockout_knobs_are_configuration(citizen, settings):
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 2
    settings.JIAOGUAN_LOGIN_LOCK_MINUTES = 5
    later()  # past the registration code's one-SMS-per-minute limit: the lock SMS counts against it
    with pytest.raises(Unauthenticated):
        _fail(citizen.phone)
    with pytest.raises(Locked):
        _fail(citizen.phone)
    assert any("锁定5分钟" in t for t in sms_texts(citizen.phone))


def test_staff_without_phone_are_told_in_the_inbox(admin, settings):
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 1
    with pytest.raises(Locked):
        _fail("admin01")
    assert Message.objects.filter(recipient=admin, template_code="account.locked", channel="inbox").exists()


def test_login_by_sms(citizen):
    later()
    code = code_for(citizen.phone, "login")
    assert services.login_with_sms(phone=citizen.phone, code=code, ip=fresh_ip()).pk == citizen.pk


def test_wrong_sms_codes_count_towards_the_lockout(citizen, settings):
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 3
    later()
    code = code_for(citizen.phone, "login")
    for _ in range(2):
        with pytest.raises(InvalidInput):
            services.login_with_sms(phone=citizen.phone, code=wrong(code), ip=fresh_ip())
    with pytest.raises(Locked):
        services.login_with_sms(phone=citizen.phone, code=wrong(code), ip=fresh_ip())
    with pytest.raises(Locked):
        services.login_with_sms(phone=citizen.phone, code=code, ip=fresh_ip())


def test_sms_login_for_unknown_phone_looks_like_a_wrong_code(citizen):
    with pytest.raises(InvalidInput) as unknown:
        services.login_with_sms(phone=unique_phone(), code="123456", ip=fresh_ip())
    later()
    code = code_for(citizen.phone, "login")
    with pytest.raises(InvalidInput) as known:
        services.login_with_sms(phone=citizen.phone, code=wrong(code), ip=fresh_ip())
    assert (unknown.value.code, unknown.value.zh) == (known.value.code, known.value.zh)


def test_disabled_account_cannot_log_in(admin):
    clerk = services.staff_create(actor=admin, username="clerk01", display_name="窗口", role="clerk", password=PASSWORD)
    services.staff_set_active(actor=admin, user=clerk, active=False)
    with pytest.raises(Forbidden) as exc:
        services.login_with_password(login="clerk01", password=PASSWORD, ip=fresh_ip())
    assert exc.value.code == "identity.account_disabled"
    with pytest.raises(Unauthenticated):  # a wrong password still says only "wrong"
        _fail("clerk01")


def test_login_attempts_per_ip_are_limited(citizen, settings):
    settings.JIAOGUAN_LOGIN_RATE_PER_IP = "3/m"
    for _ in range(3):
        services.login_with_password(login=citizen.phone, password=PASSWORD, ip="192.0.2.99")
    with pytest.raises(RateLimited):
        services.login_with_password(login=citizen.phone, password=PASSWORD, ip="192.0.2.99")


def test_auth_backend(citizen, admin, rf):
    request = rf.post("/login", REMOTE_ADDR="192.0.2.5")
    assert authenticate(request, username=citizen.phone, password=PASSWORD) == citizen
    assert authenticate(request, username="admin01", password=PASSWORD) == admin
    assert authenticate(request, username=citizen.phone, password="nope-nope-1") is None
    assert authenticate(request, username="13", password="x") is None


def test_auth_backend_reports_a_lock(citizen, settings, rf):
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 1
    request = rf.post("/login", REMOTE_ADDR="192.0.2.5")
    with pytest.raises(Locked):
        authenticate(request, username=citizen.phone, password="nope-nope-1")


def test_password_check_upgrades_an_old_hash(citizen, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    User.objects.filter(pk=citizen.pk).update(password=__import__("django.contrib.auth.hashers", fromlist=["x"])
                                              .make_password(PASSWORD, hasher="md5"))
    services.login_with_password(login=citizen.phone, password=PASSWORD, ip=fresh_ip())
    assert User.objects.get(pk=citizen.pk).password.startswith("argon2")


# --- password reset -------------------------------------------------------------------------------------------------

def test_password_reset_sets_password_unlocks_revokes_tokens_and_notifies(citizen, settings):
    token = services.token_issue(user=citizen)
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 1
    with pytest.raises(Locked):
        _fail(citizen.phone)
    later()
    code = code_for(citizen.phone, "reset")
    services.password_reset(phone=citizen.phone, code=code, new_password=NEW_PASSWORD, ip=fresh_ip())
    user = User.objects.get(pk=citizen.pk)
    assert user.locked_until is None and user.failed_logins == 0 and user.check_password(NEW_PASSWORD)
    assert services.user_for_token(token) is None
    assert ApiToken.objects.get().revoked_at is not None
    assert any("密码已修改" in t for t in sms_texts(citizen.phone))
    assert Message.objects.filter(recipient=citizen, template_code="password.changed", channel="inbox").exists()
    entry = AuditEntry.objects.get(action="account.password_reset")
    assert entry.old == {"locked": True} and entry.new["tokens_revoked"] == 1
    assert services.login_with_password(login=citizen.phone, password=NEW_PASSWORD, ip=fresh_ip()).pk == citizen.pk
    assert not User.objects.get(pk=citizen.pk).check_password(PASSWORD)


def test_password_reset_with_a_wrong_code_changes_nothing(citizen):
    later()
    code = code_for(citizen.phone, "reset")
    with pytest.raises(InvalidInput):
        services.password_reset(phone=citizen.phone, code=wrong(code), new_password=NEW_PASSWORD, ip=fresh_ip())
    assert User.objects.get(pk=citizen.pk).check_password(PASSWORD)


def test_password_reset_for_an_unknown_phone_is_a_wrong_code():
    with pytest.raises(InvalidInput) as exc:
        services.password_reset(phone=unique_phone(), code="123456", new_password=NEW_PASSWORD, ip=fresh_ip())
    assert exc.value.code == "identity.code_invalid"


def test_password_reset_checks_the_new_password_first(citizen):
    later()
    code = code_for(citizen.phone, "reset")
    with pytest.raises(InvalidInput) as exc:
        services.password_reset(phone=citizen.phone, code=code, new_password="123", ip=fresh_ip())
    assert "new_password" in exc.value.fields
    services.password_reset(phone=citizen.phone, code=code, new_password=NEW_PASSWORD, ip=fresh_ip())


def test_a_login_code_cannot_reset_the_password(citizen):
    later()
    code = code_for(citizen.phone, "login")
    with pytest.raises(InvalidInput):
        services.password_reset(phone=citizen.phone, code=code, new_password=NEW_PASSWORD, ip=fresh_ip())


# --- tokens ---------------------------------------------------------------------------------------------------------

def test_token_issue_and_lookup(citizen):
    token = services.token_issue(user=citizen, label="手机")
    assert token.startswith("jgt_") and len(token) > 40
    row = ApiToken.objects.get()
    assert token not in row.token_hash and row.label == "手机"
    assert services.user_for_token(token) == citizen
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.parametrize("token", ["", "jgt_", "jgt_nope", "Bearer x", "x" * 500, "jgt_" + "a" * 300])
def test_unknown_tokens_find_nobody(citizen, token):
    services.token_issue(user=citizen)
    assert services.user_for_token(token) is None


def test_tokens_expire(citizen, clock, settings):
    clock.freeze(dt.datetime(2026, 3, 2, 10, 0))
    token = services.token_issue(user=citizen)
    clock.advance(dt.timedelta(days=settings.JIAOGUAN_TOKEN_TTL_DAYS) - dt.timedelta(seconds=1))
    assert services.user_for_token(token) == citizen
    clock.advance(dt.timedelta(seconds=1))
    assert services.user_for_token(token) is None


def test_token_revoke(citizen):
    token = services.token_issue(user=citizen)
    other = services.token_issue(user=citizen)
    services.token_revoke(user=citizen, token=token)
    assert services.user_for_token(token) is None and services.user_for_token(other) == citizen
    with pytest.raises(NotFound):
        services.token_revoke(user=citizen, token=token)


def test_nobody_revokes_another_users_token(citizen):
    other = register(holder())
    token = services.token_issue(user=citizen)
    with pytest.raises(NotFound):
        services.token_revoke(user=other, token=token)
    assert services.user_for_token(token) == citizen


def test_tokens_of_disabled_accounts_stop_working(admin):
    clerk = services.staff_create(actor=admin, username="clerk01", display_name="窗口", role="clerk", password=PASSWORD)
    token = services.token_issue(user=clerk)
    services.staff_set_active(actor=admin, user=clerk, active=False)
    assert services.user_for_token(token) is None
