"""What every ``make run`` prints after the demo city step: the demo logins (README's "Demo logins" table) and
what each can try, read from the database — so it is the same whether the city was just built, resumed, or
already there. Demo passwords are public (README); no signing secret is ever printed here."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from jiaoguan.applications.demo import ENTERPRISE_LOGIN, ENTERPRISE_USCC_BODY
from jiaoguan.core.identifiers import format_plate, make_uscc
from jiaoguan.identity.demo import CITIZEN_PHONE, DEMO_PASSWORD
from jiaoguan.identity.models import User
from jiaoguan.identity.selectors import staff_by_username, user_by_phone
from jiaoguan.registry.demo import SHOWCASE
from jiaoguan.registry.models import Vehicle
from jiaoguan.registry.selectors import person_by_id_number, vehicle_by_plate
from jiaoguan.violations.demo import demo_violation_lines


@dataclass(frozen=True)
class Login:
    who: str
    where: str
    login: str
    can_try: str
    exists: bool


def _citizen_logins() -> list[tuple[str, str, str]]:
    return [
        ("市民 citizen", CITIZEN_PHONE,
         "驾驶证和两辆车；违法处理、缴款和电子回单，绑定亲属车辆，预约窗口和东部景区，办事大厅 / licence and two cars; "
         "handle and pay violations (e-receipt), bind a relative's car, book counters and eastern areas, apply"),
        ("学员 learner", "13000130000", "预约驾驶人考试，查看排名 / books driving-test sessions, sees the live rank"),
        ("新车车主 new-car owner", "15900159000", "网上选号 / chooses a plate number online"),
        ("驾驶证被扣留 licence detained", "15800158000",
         "违法已处理缴款，网上申请放车还证（邮寄或预约窗口领取）/ the violation is handled and paid: ask for the detained "
         "licence back online (by post or at a counter)"),
    ]


STAFF = (
    ("窗口民警 window clerk", "clerk01", "/console/", "查询人员、受理申请、预约管理 / find persons, accept applications, bookings"),
    ("审核民警 reviewer (a clerk)", "reviewer01", "/console/",
     "审核申请（救助基金：受理、审核、审批须由三人办理）/ review applications (relief fund: accept, review and approve "
     "are three different people)"),
    ("审批民警 approver", "approver01", "/console/", "审批申请、审核申诉 / approve applications, review disputes"),
    ("审计员 auditor", "auditor01", "/console/", "谁查阅了谁 / who looked at whom"),
    ("管理员 administrator", "admin01", "/console/ (/admin/)", "创建民警账户 / creates staff accounts"),
)


def demo_logins() -> list[Login]:
    """The demo logins, each marked with whether its account exists in this database."""
    rows = [Login(who, "/login/", phone, can_try, user_by_phone(phone=phone) is not None)
            for who, phone, can_try in _citizen_logins()]
    truck = enterprise_truck()
    rows.append(Login("企业 enterprise", "/login/", ENTERPRISE_LOGIN,
                      f"物流公司，货车 {format_plate(truck) if truck else '-'}：货车通行证、停车场备案 / logistics company "
                      f"with a truck: truck pass, parking-lot licence",
                      User.objects.filter(username=ENTERPRISE_LOGIN).exists()))
    rows += [Login(who, where, username, can_try, staff_by_username(username=username) is not None)
             for who, username, where, can_try in STAFF]
    return rows


def enterprise_truck() -> str:
    """The demo enterprise's truck plate (applications.demo registers it), or ""."""
    plate = (Vehicle.objects.filter(owner_uscc=make_uscc(ENTERPRISE_USCC_BODY), kind="truck").order_by("pk")
             .values_list("plate", flat=True).first())
    return plate or ""


def _showcase(key: str):
    spec = next(s for s in SHOWCASE if s.key == key)
    return spec, person_by_id_number(id_number=spec.id_number)


def things_to_try(*, on: dt.date | None = None) -> list[str]:
    """Lines naming the showcase people and records to try, from the database."""
    lines = []
    violations = demo_violation_lines(on=on)
    if violations:
        lines.append("违法处理 Violations of the citizen 13800138000 (我的违法 /me/violations/):")
        lines += [f"  - {line}" for line in violations]
    spec, person = _showcase("newcomer")
    if person is not None:
        lines.append(f"注册 Registration: 新用户 the newcomer {spec.name}, 身份证 ID {spec.id_number}, 手机 phone "
                     f"{spec.phone} (/register/; SMS codes in var/sms-outbox.log)")
    spec, person = _showcase("relative")
    if person is not None and spec.vehicles:
        vehicle = vehicle_by_plate(plate=spec.vehicles[0].plate)
        if vehicle is not None:
            lines.append(f"绑定亲属车辆 Bind a relative's car (as the citizen): 号牌 plate {format_plate(vehicle.plate)}, "
                         f"车辆识别代号 VIN {vehicle.vin}; the owner {spec.name} (phone {spec.phone}) confirms by SMS")
    spec, person = _showcase("overdue")
    if person is not None:
        lines.append(f"检验预约 Inspection booking: register {spec.name} (身份证 ID {spec.id_number}, phone "
                     f"{spec.phone}), whose car {format_plate(spec.vehicles[0].plate)} is overdue")
    truck = enterprise_truck()
    if truck:
        lines.append(f"企业 Enterprise: demo_logistics owns the truck {format_plate(truck)} (truck pass, parking-lot "
                     f"licence)")
    return lines


def summary_lines(*, base_url: str = "http://127.0.0.1:8000", password: str | None = None,
                  on: dt.date | None = None) -> list[str]:
    """The whole summary: logins, then things to try."""
    password = password or DEMO_PASSWORD
    lines = [f"演示账户 Demo logins at {base_url} — 密码均为 every password is {password} (public demo password):"]
    for row in demo_logins():
        missing = "" if row.exists else "  [未创建 not created]"
        lines.append(f"  {row.who}: {row.login}  @ {row.where}{missing}")
        lines.append(f"      {row.can_try}")
    lines.append("试一试 Things to try:")
    lines += [f"  {line}" for line in things_to_try(on=on)]
    return lines
