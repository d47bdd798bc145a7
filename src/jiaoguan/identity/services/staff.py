"""Staff accounts: created by an administrator (or the first one by a command), disabled and re-enabled."""
from __future__ import annotations

from django.db import IntegrityError, transaction

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, InvalidInput, forbidden, not_found
from jiaoguan.core.identifiers import validate_phone
from jiaoguan.core.masking import mask_phone
from jiaoguan.core.outbox import records_changed
from jiaoguan.identity import rules
from jiaoguan.identity.hashes import phone_hash
from jiaoguan.identity.models import ApiToken, User
from jiaoguan.identity.roles import STAFF_ROLES, Role, has_permission
from jiaoguan.identity.services._common import (
    _collect,
    _merge,
    _password_checked,
    _plain,
)

# --- staff accounts ---------------------------------------------------------------------------------------------

def _staff_insert(*, actor: Actor, username: str, display_name: str, role: str, password: str,
                  phone: str | None) -> User:
    username = str(username or "").strip()
    display_name = _plain(display_name, limit=61)

    def check_role():
        if role not in STAFF_ROLES:
            raise InvalidInput("identity.staff_role", "民警账户的角色只能是窗口民警、审批民警、审计员或管理员",
                               "A staff role is clerk, approver, auditor or admin", field="role")
        return role

    def check_username():
        if not rules.staff_username_ok(username):
            raise InvalidInput("identity.username_format", "用户名为3–32位字母、数字或 _ . -，以字母开头",
                               "A username has 3–32 letters, digits or _ . -, starting with a letter",
                               field="username")
        return username

    def check_display_name():
        if not display_name or len(display_name) > 60:
            raise InvalidInput("identity.display_name", "请填写姓名（不超过60个字）",
                               "Enter a display name (at most 60 characters)", field="display_name")
        return display_name

    (role, username, display_name, password, phone), errors = _collect([
        check_role, check_username, check_display_name,
        lambda: _password_checked(password),
        lambda: validate_phone(phone) if phone else None,
    ])
    if errors:
        raise _merge(errors)
    now = clock.now()
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise Conflict("identity.username_taken", "该用户名已被使用", "This username is taken", field="username")
        if phone and User.objects.filter(phone_hash=phone_hash(phone)).exists():
            raise Conflict("identity.phone_registered", "该手机号码已被其他账户使用",
                           "This phone number is used by another account", field="phone")
        is_admin = role == Role.ADMIN
        user = User(username=username, display_name=display_name, role=role, phone=phone or None,
                    date_joined=now, is_staff=is_admin, is_superuser=is_admin)
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save(force_insert=True)
        except IntegrityError:
            raise Conflict("identity.username_taken", "该用户名已被使用", "This username is taken",
                           field="username") from None
        audit_record(actor=actor, action="staff.create", obj=user,
                     new={"username": username, "role": role, "display_name": display_name,
                          "phone": mask_phone(phone) if phone else ""})
    return user


def staff_create(*, actor: User, username: str, display_name: str, role: str, password: str,
                 phone: str | None = None) -> User:
    """An administrator creates a staff account (clerk, approver, auditor or admin)."""
    if not has_permission(actor, "staff.manage"):
        raise forbidden()
    return _staff_insert(actor=Actor.of(actor), username=username, display_name=display_name, role=role,
                         password=password, phone=phone)


def staff_bootstrap(*, username: str, display_name: str, password: str, role: str = Role.ADMIN,
                    phone: str | None = None, by: str = "manage.py create_staff") -> User:
    """The first administrator (no actor yet): used by the ``create_staff`` command and the demo."""
    return _staff_insert(actor=Actor.system(by), username=username, display_name=display_name, role=role,
                         password=password, phone=phone)


def staff_set_active(*, actor: User, user: User, active: bool) -> User:
    """An administrator disables or re-enables a staff account; disabling revokes its tokens (its sessions stop
    authenticating because the backend refuses inactive users)."""
    if not has_permission(actor, "staff.manage"):
        raise forbidden()
    if user.role not in STAFF_ROLES:
        raise not_found("民警账户", "staff account")
    if user.pk == actor.pk:
        raise InvalidInput("identity.self_disable", "不能停用或启用自己的账户",
                           "You cannot disable or enable your own account", field="active")
    now = clock.now()
    with transaction.atomic():
        row = User.objects.select_for_update().get(pk=user.pk)
        if row.is_active == bool(active):
            return row
        old = row.is_active
        row.is_active = bool(active)
        row.save(update_fields=["is_active"])
        records_changed(user_ids=[row.pk])
        revoked = 0
        if not row.is_active:
            revoked = ApiToken.objects.filter(user=row, revoked_at__isnull=True).update(revoked_at=now)
        audit_record(actor=Actor.of(actor), action="staff.activate" if active else "staff.deactivate", obj=row,
                     old={"is_active": old}, new={"is_active": row.is_active, "tokens_revoked": revoked})
    user.is_active = row.is_active
    return row
