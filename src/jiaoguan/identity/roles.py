"""Roles and what each may do. One place, so every endpoint asks the same question the same way."""
from __future__ import annotations

from django.db import models

from jiaoguan.core.errors import forbidden
from jiaoguan.core.i18n import bi


class Role(models.TextChoices):
    CITIZEN = "citizen", bi("市民", "Citizen")
    ENTERPRISE = "enterprise", bi("企业用户", "Enterprise user")
    CLERK = "clerk", bi("窗口民警", "Window clerk")
    APPROVER = "approver", bi("审批民警", "Approver")
    AUDITOR = "auditor", bi("审计员", "Auditor")
    ADMIN = "admin", bi("管理员", "Administrator")


STAFF_ROLES = frozenset({Role.CLERK, Role.APPROVER, Role.AUDITOR, Role.ADMIN})
PUBLIC_ROLES = frozenset({Role.CITIZEN, Role.ENTERPRISE})

# Permission -> roles that hold it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "person.search": frozenset({Role.CLERK, Role.APPROVER}),
    "person.view": frozenset({Role.CLERK, Role.APPROVER}),
    "person.unmask": frozenset({Role.CLERK, Role.APPROVER}),
    "audit.view_access": frozenset({Role.AUDITOR}),
    "staff.manage": frozenset({Role.ADMIN}),
    "dispute.review": frozenset({Role.APPROVER, Role.ADMIN}),
    "violation.record": frozenset({Role.CLERK, Role.APPROVER, Role.ADMIN}),
    "violation.revoke": frozenset({Role.APPROVER, Role.ADMIN}),
    "violation.handle": frozenset({Role.CLERK, Role.APPROVER, Role.ADMIN}),  # 窗口处理: a decision at a counter
    # 扣留 (violations.Detention): a clerk records a vehicle or licence taken, an approver cancels a wrong one
    "detention.record": frozenset({Role.CLERK, Role.APPROVER, Role.ADMIN}),
    "detention.cancel": frozenset({Role.APPROVER, Role.ADMIN}),
    "registry.edit": frozenset({Role.CLERK, Role.APPROVER, Role.ADMIN}),  # registry services' writes (and the system)
    # bookings: define venues, sessions, quotas and days, run the allocation / see and mark attendance
    "booking.manage": frozenset({Role.APPROVER, Role.ADMIN}),
    "booking.attendance": frozenset({Role.CLERK, Role.APPROVER, Role.ADMIN}),
    "exam.permit_issue": frozenset({Role.CLERK, Role.APPROVER, Role.ADMIN}),
    # plate selection: edit pools and withholding policies / look at them
    "plate.manage": frozenset({Role.APPROVER, Role.ADMIN}),
    "plate.view": frozenset({Role.CLERK, Role.APPROVER, Role.ADMIN}),
    # e-credentials (credentials app): revoke an issued e-permit or certificate
    "credential.revoke": frozenset({Role.APPROVER, Role.ADMIN}),
    # applications (the one acceptance -> review -> approval workflow): who may take each step. Separation of
    # duties (the acceptor never approves the same application) is enforced per application by the engine.
    "application.view": frozenset({Role.CLERK, Role.APPROVER, Role.ADMIN}),
    "application.accept": frozenset({Role.CLERK, Role.APPROVER}),
    "application.review": frozenset({Role.CLERK, Role.APPROVER}),
    "application.approve": frozenset({Role.APPROVER}),
    "application.stats": frozenset({Role.APPROVER, Role.ADMIN, Role.AUDITOR}),
}


def has_permission(user, permission: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.role in PERMISSIONS.get(permission, frozenset())


def require(actor, permission: str) -> None:
    """Refuse (403) an actor whose role does not hold ``permission``; the system actor (jobs) holds every one."""
    if actor.role != "system" and actor.role not in PERMISSIONS.get(permission, frozenset()):
        raise forbidden()
