"""Staff accounts: only administrators create them, staff roles only; the first one from the command line."""
import pytest
from django.core.management import CommandError, call_command

from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import services
from jiaoguan.identity.models import User
from jiaoguan.identity.roles import STAFF_ROLES, Role, has_permission
from tests.identity.helpers import PASSWORD, holder, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return services.staff_bootstrap(username="admin01", display_name="管理员", password=PASSWORD)


def _create(actor, **kw):
    args = dict(username="clerk01", display_name="窗口民警 王明", role="clerk", password=PASSWORD)
    args.update(kw)
    return services.staff_create(actor=actor, **args)


@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_admin_creates_each_staff_role(admin, role):
    user = _create(admin, username=f"u{role}", role=role, phone="13912345678")
    user.refresh_from_db()
    assert user.role == role and user.display_name == "窗口民警 王明" and user.check_password(PASSWORD)
    assert user.phone == "13912345678" and user.person_id is None
    assert user.is_staff == (role == Role.ADMIN)
    entry = AuditEntry.objects.get(action="staff.create", object_id=str(user.pk))
    assert entry.actor_id == admin.pk and entry.new["role"] == role and "13912345678" not in str(entry.new)


@pytest.mark.parametrize("role", ["clerk", "approver", "auditor"])
def test_other_staff_cannot_create_staff(admin, role):
    actor = _create(admin, username=f"x{role}", role=role)
    with pytest.raises(Forbidden):
        _create(actor)
    assert not User.objects.filter(username="clerk01").exists()


def test_citizens_and_anonymous_cannot_create_staff(admin):
    citizen = register(holder())
    with pytest.raises(Forbidden):
        _create(citizen)
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Forbidden):
        _create(AnonymousUser())


def test_a_disabled_admin_cannot_create_staff(admin):
    other = _create(admin, username="admin02", role="admin")
    services.staff_set_active(actor=other, user=admin, active=False)
    admin.refresh_from_db()
    with pytest.raises(Forbidden):
        _create(admin)


@pytest.mark.parametrize("role", ["citizen", "enterprise", "superuser", ""])
def test_only_staff_roles(admin, role):
    with pytest.raises(InvalidInput) as exc:
        _create(admin, role=role)
    assert "role" in exc.value.fields


@pytest.mark.parametrize("username", ["ab", "13800138000", "1abc", "警号001", "a b c", "x" * 40])
def test_username_format(admin, username):
    with pytest.raises(InvalidInput) as exc:
        _create(admin, username=username)
    assert "username" in exc.value.fields


def test_duplicate_username_any_case(admin):
    _create(admin)
    with pytest.raises(Conflict) as exc:
        _create(admin, username="CLERK01")
    assert exc.value.status == 409 and "username" in exc.value.fields


def test_phone_used_by_a_citizen_is_refused(admin):
    citizen = register(holder())
    with pytest.raises(Conflict) as exc:
        _create(admin, phone=citizen.phone)
    assert "phone" in exc.value.fields


def test_weak_password_and_missing_name_reported_together(admin):
    with pytest.raises(InvalidInput) as exc:
        _create(admin, password="12345678", display_name="")
    assert {"password", "display_name"} <= set(exc.value.fields)


def test_staff_permissions_follow_roles(admin):
    clerk = _create(admin)
    auditor = _create(admin, username="auditor01", role="auditor")
    assert has_permission(clerk, "person.unmask") and not has_permission(clerk, "staff.manage")
    assert has_permission(auditor, "audit.view_access") and not has_permission(auditor, "person.view")
    assert has_permission(admin, "staff.manage")


def test_set_active(admin):
    clerk = _create(admin)
    services.staff_set_active(actor=admin, user=clerk, active=False)
    assert not User.objects.get(pk=clerk.pk).is_active
    services.staff_set_active(actor=admin, user=clerk, active=False)  # no change, no second audit row
    services.staff_set_active(actor=admin, user=clerk, active=True)
    assert User.objects.get(pk=clerk.pk).is_active
    assert [e.action for e in AuditEntry.objects.filter(object_id=str(clerk.pk), action__startswith="staff.")
            .exclude(action="staff.create")] == ["staff.deactivate", "staff.activate"]


def test_set_active_rules(admin):
    clerk = _create(admin)
    with pytest.raises(Forbidden):
        services.staff_set_active(actor=clerk, user=admin, active=False)
    with pytest.raises(InvalidInput):
        services.staff_set_active(actor=admin, user=admin, active=False)
    citizen = register(holder())
    with pytest.raises(NotFound):
        services.staff_set_active(actor=admin, user=citizen, active=False)


def test_create_staff_command(monkeypatch):
    monkeypatch.setenv("JIAOGUAN_STAFF_PASSWORD", PASSWORD)
    call_command("create_staff", "--username", "root01", "--display-name", "首位管理员")
    user = User.objects.get(username="root01")
    assert user.role == "admin" and user.is_superuser and user.check_password(PASSWORD)
    assert AuditEntry.objects.get(action="staff.create").actor_label == "manage.py create_staff"
    # the new administrator can now create staff
    assert _create(user).role == "clerk"


def test_create_staff_command_refuses_bad_input(monkeypatch):
    monkeypatch.setenv("JIAOGUAN_STAFF_PASSWORD", "123")
    with pytest.raises(CommandError, match="password"):
        call_command("create_staff", "--username", "root01", "--display-name", "x")
    assert not User.objects.exists()
