"""Demo data for the delivered services (called by ``manage.py demo_city`` after the demo accounts exist):

- a hospital partner (registry.partners) and a valid health check for the demo citizen (phone 13800138000), for
  the showcase driver whose licence has expired, so licence renewal/replacement can be tried online, and for the
  driver aged 75 (the yearly health report);
- a demo logistics enterprise with its account and a registered, insured truck (truck pass, parking licence);
- one application of each kind waiting in the console's queues (acceptance, and post-review for an emergency
  truck pass), plus an auto-approved non-local pass for the citizen.

Idempotent: running it again adds nothing (the partner, the records and the applications are found again).
Returns a ``DemoApplications`` summary; the hospital's signing secret is shown only when it is created.
"""
from __future__ import annotations

import datetime as dt
import struct
import zlib
from dataclasses import dataclass, field

from django.db import transaction

from jiaoguan.applications import selectors, services
from jiaoguan.core import clock, workdays
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.identifiers import make_id_number, make_uscc, make_vin
from jiaoguan.identity.demo import DEMO_PASSWORD
from jiaoguan.identity.models import Enterprise, User  # reported: no identity service creates an enterprise account
from jiaoguan.identity.selectors import account_of_person
from jiaoguan.registry import selectors as registry_selectors
from jiaoguan.registry import services as registry
from jiaoguan.registry.health import health_check_receive
from jiaoguan.registry.models import Partner  # reported: no registry selector finds a partner by its code
from jiaoguan.registry.partners import partner_create
from jiaoguan.registry.selectors import persons_with_phone

ACTOR = Actor.system("demo_city")
CITIZEN_PHONE = "13800138000"
EXPIRED_PHONE = "13500135000"
SENIOR_PHONE = "15700157000"  # the showcase driver aged 75: the health report (身体条件证明) is held
HOSPITAL_CODE = "45575959X44030311A1001"
ENTERPRISE_NAME = "深圳市鹏城物流有限公司"
ENTERPRISE_USCC_BODY = "91440300MA5F8K2P1"
ENTERPRISE_LOGIN = "demo_logistics"
TRUCK_PLATE = "粤BH8M36"
NONLOCAL_PLATE = "湘A8K261"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png(width: int = 60, height: int = 80, rgb: tuple[int, int, int] = (235, 240, 245)) -> bytes:
    """A small valid PNG of one colour (a stand-in for a photo or a scan)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


@dataclass
class DemoApplications:
    hospital_key_id: str = ""
    hospital_secret: str = ""  # only when the partner was created by this call
    health_checks: int = 0
    enterprise_login: str = ""
    applications: list[str] = field(default_factory=list)  # "service: reference status"

    def __str__(self) -> str:
        apps = "; ".join(self.applications) or "none new"
        return (f"hospital {self.hospital_key_id}, {self.health_checks} health checks, enterprise login "
                f"{self.enterprise_login or '-'}, applications: {apps}")


def _hospital(result: DemoApplications):
    partner = Partner.objects.filter(kind=Partner.Kind.HOSPITAL, institution_code=HOSPITAL_CODE).first()
    if partner is None:
        partner, secret = partner_create(kind="hospital", name_zh="深圳市人民医院", name_en="Shenzhen People's Hospital",
                                         institution_code=HOSPITAL_CODE, actor=ACTOR)
        result.hospital_secret = secret
    result.hospital_key_id = partner.key_id
    return partner


def _person(phone: str):
    people = persons_with_phone(phone=phone)
    return people[0] if people else None


def _health_check(hospital, person, number: str, today: dt.date) -> bool:
    if person is None:
        return False
    health_check_receive(hospital=hospital, record_number=number, id_number=person.id_number, name=person.name,
                         examined_on=today - dt.timedelta(days=7), result="fit", vision_left="5.0",
                         vision_right="5.1", colour_vision_normal=True, hearing_normal=True, limbs_normal=True)
    return True


def _enterprise(today: dt.date, result: DemoApplications):
    """The demo logistics company, its account and its insured truck."""
    uscc = make_uscc(ENTERPRISE_USCC_BODY)
    now = clock.now()
    with transaction.atomic():
        enterprise = Enterprise.objects.filter(uscc=uscc).first()
        if enterprise is None:
            enterprise = Enterprise.objects.create(name=ENTERPRISE_NAME, uscc=uscc, created_at=now)
        user = User.objects.filter(username=ENTERPRISE_LOGIN).first()
        if user is None:
            user = User(username=ENTERPRISE_LOGIN, role="enterprise", enterprise=enterprise,
                        real_name_verified_at=now, date_joined=now, display_name=ENTERPRISE_NAME[:60])
            user.set_password(DEMO_PASSWORD)
            user.save(force_insert=True)
            audit_record(actor=ACTOR, action="account.register", obj=user,
                         new={"role": user.role, "enterprise": enterprise.uscc, "demo": True})
    result.enterprise_login = ENTERPRISE_LOGIN
    truck = registry_selectors.vehicles_of_enterprise(uscc=uscc).filter(kind="truck").order_by("pk").first()
    if truck is None:
        taken = registry_selectors.plates_in_use(prefix=TRUCK_PLATE[:-1])
        plate = next(p for p in (TRUCK_PLATE[:-1] + d for d in "6789012345") if p not in taken)
        truck = registry.vehicle_register(
            owner=None, plate=plate, vin=make_vin("LZZ1BLSF", "PD100001"), brand="东风 天锦", kind="truck",
            use="freight", registration_date=today - dt.timedelta(days=100), actor=ACTOR,
            owner_company=ENTERPRISE_NAME, owner_uscc=uscc)
        registry.policy_add(vehicle=truck, policy_number="PDZA2026DEMO0001", insurer="中国人民财产保险",
                            starts_on=today - dt.timedelta(days=30), ends_on=today + dt.timedelta(days=334),
                            actor=ACTOR)
    return user, truck.plate


def _apply(user, service: str, data: dict, uploads: dict[str, tuple[str, bytes]], result: DemoApplications,
           *, same: str | None = None) -> None:
    """Submit one demo application unless one like it (same service, and the same value of ``same``) exists."""
    qs = selectors.my_applications(user=user).filter(service_code=service).exclude(status="draft")
    if same:
        qs = qs.filter(**{f"form_data__{same}": data[same]})
    if qs.exists():
        return
    app = services.application_draft_create(user=user, service_code=service, data=data)
    for slot, (name, content) in uploads.items():
        services.material_upload(user=user, application_id=app.pk, slot=slot, filename=name, content=content)
    app = services.application_submit(user=user, application_id=app.pk)
    result.applications.append(f"{service}: {app.reference} {app.status}")


def _next_workday(after: dt.date) -> dt.date:
    day = after + dt.timedelta(days=1)
    while not workdays.is_workday(day):
        day += dt.timedelta(days=1)
    return day


def demo_applications(*, now: dt.datetime) -> DemoApplications:
    today = clock.localdate(now) if isinstance(now, dt.datetime) else now
    result = DemoApplications()
    hospital = _hospital(result)
    citizen_person = _person(CITIZEN_PHONE)
    result.health_checks += _health_check(hospital, citizen_person, "DEMO-HC-0001", today)
    result.health_checks += _health_check(hospital, _person(EXPIRED_PHONE), "DEMO-HC-0002", today)
    result.health_checks += _health_check(hospital, _person(SENIOR_PHONE), "DEMO-HC-0003", today)

    company, plate = _enterprise(today, result)
    start = today + dt.timedelta(days=1)
    _apply(company, "truck_pass",
           {"plate": plate, "category": "city_delivery", "zone": "futian_luohu", "route": "深南大道—红荔路",
            "valid_from": start.isoformat(), "valid_until": (start + dt.timedelta(days=29)).isoformat(),
            "contact_phone": "13900001234"}, {}, result, same="category")
    _apply(company, "truck_pass",  # approved at once, waits in the post-review queue
           {"plate": plate, "category": "emergency", "zone": "citywide", "route": "梅林关—福龙路",
            "valid_from": today.isoformat(), "valid_until": (today + dt.timedelta(days=6)).isoformat(),
            "contact_phone": "13900001234"}, {"emergency_notice": ("order.pdf", PDF)}, result, same="category")
    _apply(company, "parking_licence",
           {"action": "open", "lot_name": "鹏城物流园停车场", "lot_address": "深圳市龙岗区平湖街道物流园路1号",
            "spaces": "120", "charging_points": "24", "opening_date": start.isoformat(),
            "contact_phone": "13900001234"},
           {"site_plan": ("site-plan.pdf", PDF), "site_right": ("lease.pdf", PDF)}, result)

    citizen = account_of_person(person_id=citizen_person.pk) if citizen_person is not None else None
    if citizen is not None:
        _apply(citizen, "licence_renewal",
               {"kind": "replace_damaged", "address": "深圳市福田区福华路1号 演示小区1栋101"},
               {"photo": ("photo.png", png())}, result)
        _apply(citizen, "relief_fund",
               {"applicant_relation": "spouse", "victim_name": "李演示",
                "victim_id_number": make_id_number("440304", dt.date(1986, 3, 8), 57),
                "accident_reference": "SZ2026DEMO001", "accident_date": (today - dt.timedelta(days=10)).isoformat(),
                "kind": "rescue_advance", "amount_fen": "1500000", "hospital": "深圳市人民医院",
                "bank_name": "中国工商银行深圳分行", "account_holder": "李建华", "bank_account": "6222020200112233445",
                "contact_phone": CITIZEN_PHONE},
               {"medical_bills": ("bills.pdf", PDF), "relationship_proof": ("marriage.pdf", PDF)}, result)
        _apply(citizen, "nonlocal_pass",
               {"plate": NONLOCAL_PLATE, "travel_date": _next_workday(today).isoformat(), "small_car": "true"},
               {}, result)
    return result
