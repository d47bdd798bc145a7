"""Demo accounts for the demo city (``manage.py demo_city``): one citizen and one account per staff role.

All share one documented password, ``DEMO_PASSWORD``; the README lists them. Running it again changes nothing
(existing accounts are kept as they are and listed again).
"""
from __future__ import annotations

from django.db import transaction

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.masking import mask_phone
from jiaoguan.identity.hashes import phone_hash
from jiaoguan.identity.models import User
from jiaoguan.identity.roles import Role
from jiaoguan.identity.services import bindings_sync_own, staff_bootstrap

DEMO_PASSWORD = "Jiaoguan@2026"
CITIZEN_PHONE = "13800138000"

DEMO_STAFF = (
    (Role.CLERK, "clerk01", "窗口民警 王明", "窗口民警：查询人员、查看并解除遮蔽 Window clerk: find persons, unmask"),
    # a second clerk who reviews (审核): separation of duties keeps acceptance, review and approval of a relief-fund
    # application with three different people, so the demo has three to walk it
    (Role.CLERK, "reviewer01", "审核民警 张伟", "审核民警（窗口民警岗位）：审核申请 Reviewer (a clerk): reviews applications"),
    (Role.APPROVER, "approver01", "审批民警 李华", "审批民警 Approver"),
    (Role.AUDITOR, "auditor01", "审计员 陈静", "审计员：查看谁查阅了谁 Auditor: who looked at whom"),
    (Role.ADMIN, "admin01", "管理员 赵强", "管理员：创建民警账户 Administrator: creates staff accounts"),
)


def _citizen(person, username: str = "demo_citizen") -> User:
    phone = person.phone or CITIZEN_PHONE
    existing = User.objects.filter(person_id=person.pk).first() or User.objects.filter(
        phone_hash=phone_hash(phone)).first()
    if existing is not None:
        return existing
    now = clock.now()
    with transaction.atomic():
        user = User(username=username, role=Role.CITIZEN, phone=phone, person=person,
                    real_name_verified_at=now, date_joined=now)
        user.set_password(DEMO_PASSWORD)
        user.save(force_insert=True)
        audit_record(actor=Actor.system("demo_city"), action="account.register", obj=user,
                     subject_person_id=person.pk, new={"role": user.role, "phone": mask_phone(phone), "demo": True})
    bindings_sync_own(user=user)
    return user


def create_demo_accounts(*, city) -> list[tuple[str, str, str, str]]:
    """Create the demo logins; returns (role, login, password, note) rows for the README and the console."""
    rows: list[tuple[str, str, str, str]] = []
    citizen_person = city.showcase["citizen"]
    citizen = _citizen(citizen_person)
    rows.append((Role.CITIZEN.value, citizen.phone, DEMO_PASSWORD,
                 "市民（有驾驶证和车辆；可绑定亲属车辆）Citizen with a licence and vehicles; can bind a relative's car"))
    for key, note in (("learner", "学员（已受理学车申请，可预约考试）Learner: books driving tests"),
                      ("newcar", "新车车主（可网上选号）New-car owner: chooses a plate online"),
                      ("detained", "驾驶证被扣留（违法已处理缴款，可申请放车还证）Licence detained: asks for its return")):
        person = city.showcase.get(key)
        if person is not None:
            user = _citizen(person, username=f"demo_{key}")
            rows.append((Role.CITIZEN.value, user.phone, DEMO_PASSWORD, note))
    for role, username, display_name, note in DEMO_STAFF:
        if not User.objects.filter(username=username).exists():
            staff_bootstrap(username=username, display_name=display_name, role=role, password=DEMO_PASSWORD,
                            by="demo_city")
        rows.append((role.value, username, DEMO_PASSWORD, note))
    return rows
