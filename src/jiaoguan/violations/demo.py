"""Demo data: camera-recorded violations of the demo citizen's two cars (phone 13800138000), so the platform's
most used journey — see a violation, handle it online, pay the fine, get the e-receipt — can be tried.

    from jiaoguan.violations.demo import demo_violations
    demo_violations(now=clock.now())

Called by the demo_city command after the demo accounts exist. Everything goes through the public services
(``violation_record``, ``violation_handle_online``, ``violation_revoke``), so the points ledger, the penalty
decision, the payable fine and any notices are exactly what a real camera and a real citizen would produce:

- ``online``: speeding 20–50 % (3 points, ¥200) on 粤B·D12345, six days ago — handled online by the citizen;
- ``counter``: a red light (6 points, ¥500) on 粤B·A7M29 — over the online limit of ¥200: the page says why and
  sends the citizen to a counter;
- ``waiver``: illegal parking (no points, ¥200) on 粤B·A7M29, the car's first violation in 24 months — the
  first-violation waiver applies and the citizen can ask for it. (Recording waives an eligible violation at
  once; this one was recorded while an earlier camera record of the same car still stood — ``misread``, a plate
  read wrongly and then revoked by review — so it is still open and the waiver is the citizen's to ask for.)
- ``late``: a handheld phone (3 points, ¥200) on 粤B·D12345, handled online 25 days ago (the clock is moved back
  for it), its fine unpaid: the late fee of 3 % a day has run since the 16th day.

And the "detained" showcase driver (phone 15800158000): an officer stopped them for speeding on 深南大道 two days
ago, recorded the violation on site and detained the licence (扣留驾驶证, notice ``DETENTION_NOTICE``, held at the
福田 violation-handling counter); the violation was handled at the counter and the fine paid through the payment
simulator (order, confirmation, signed callback), so 放车还证 can be asked for online at once
(``demo_detention``).

Two demo cameras, each scoped like a real one (issue 10): the 深南大道 traffic camera records the moving
violations (speeding, red light, handheld phone) and the 福田区 parking camera only illegal parking, in 福田区.

Idempotent and resumable: each camera record has a fixed record id, so a second call records nothing twice (a
database seeded before the parking camera existed keeps its parking record from the traffic camera), and every
later step (revoke, handle) runs only when its violation is still in the state before it. The demo cameras'
signing secrets are never returned or printed.
"""
from __future__ import annotations

import datetime as dt
import struct
import zlib
from dataclasses import dataclass, field

from django.utils import timezone

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.i18n import zh_en
from jiaoguan.core.identifiers import format_plate
from jiaoguan.identity.selectors import user_by_phone
from jiaoguan.payments import selectors as payments
from jiaoguan.registry import selectors as registry_selectors
from jiaoguan.registry.selectors import vehicle_by_plate
from jiaoguan.violations import selectors, services, signing
from jiaoguan.violations.models import Detention, Device, PenaltyDecision, Violation

ACTOR = Actor.system("demo_city")
CAMERA_ACTOR = Actor.system("demo-camera")
CITIZEN_PHONE = "13800138000"
DEVICE_NAME = "深南大道电子警察（演示）"
DEVICE_PLACE = "深圳市福田区深南大道"
PARKING_DEVICE_NAME = "福田区违停抓拍（演示）"
PARKING_DEVICE_PLACE = "深圳市福田区福华三路"
PARKING_DEVICE_AREA = "福田区"
DEVICE_NAMES = (DEVICE_NAME, PARKING_DEVICE_NAME)
NEV_PLATE, CAR_PLATE = "粤BD12345", "粤BA7M29"
LATE_DECISION_DAYS_AGO = 25  # handled this long ago: 25 − 15 = 10 days of late fee


@dataclass(frozen=True)
class Seeded:
    """One demo violation: a key, the device's record id, the plate, the code, where, and when (days ago, hour,
    minute of the local day)."""

    key: str
    record_id: str
    plate: str
    code: str
    what: str  # short, for the summary (the code table's descriptions are long)
    place: str
    days_ago: int
    at: tuple[int, int]
    try_zh: str
    try_en: str
    camera: str = "traffic"  # which demo camera records it (its scope: Device.kind)


SEEDED = (
    Seeded("misread", "DEMO-SZ-0001", CAR_PLATE, "1352", "超速20%–50% speeding", "福田区红荔路（莲花山段）",
           40, (7, 52), "号牌识别有误，已撤销", "plate misread by the camera: revoked"),
    Seeded("waiver", "DEMO-SZ-0002", CAR_PLATE, "1039", "违法停车 illegal parking", "福田区福华三路（会展中心北）",
           14, (10, 18), "可申请首违免罚（不罚款、不记分）", "ask for the first-violation waiver (no fine, no points)",
           camera="parking"),
    Seeded("counter", "DEMO-SZ-0003", CAR_PLATE, "1625", "闯红灯 red light", "福田区新洲路与红荔路交叉口",
           9, (21, 5), "罚款超过200元，不能网上处理，页面说明原因",
           "fine over ¥200: cannot be handled online, the page says why"),
    Seeded("late", "DEMO-SZ-0004", NEV_PLATE, "1362", "开车接打手持电话 handheld phone", "福田区深南大道与彩田路交叉口",
           27, (8, 40), "已处理未缴款，决定书已过15日，滞纳金每日3%",
           "handled, fine unpaid for over 15 days: late fee 3 % a day"),
    Seeded("online", "DEMO-SZ-0005", NEV_PLATE, "1352", "超速20%–50% speeding", "南山区沙河西路（科技园段）",
           6, (19, 12), "可网上处理并缴款，取电子回单", "handle online, pay, get the e-receipt"),
)
MISREAD_REASON = "号牌识别有误，经人工核查撤销 The camera misread the plate; revoked after review"


@dataclass
class DemoViolations:
    device: str = ""
    recorded: list[str] = field(default_factory=list)  # keys recorded by this call
    revoked: list[str] = field(default_factory=list)
    handled: list[str] = field(default_factory=list)
    detention: str = ""
    missing: str = ""  # why nothing was seeded (no demo citizen)

    def __str__(self) -> str:
        if self.missing:
            return f"none ({self.missing})"
        return (f"camera {self.device}; recorded {', '.join(self.recorded) or 'nothing new'}; "
                f"revoked {', '.join(self.revoked) or '-'}; handled {', '.join(self.handled) or '-'}; "
                f"{self.detention or 'no detention'}")


def scene_png(width: int = 320, height: int = 180, car: tuple[int, int, int] = (30, 90, 170)) -> bytes:
    """A small real PNG of a road, a car and a red light: a stand-in for a camera's evidence photo."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            if 20 <= x <= 34 and 14 <= y <= 60:
                px = (220, 30, 30) if y < 28 else (40, 40, 40)                          # traffic light, red
            elif y < 60:
                px = (176, 204, 232)                                                    # sky
            elif 100 <= x <= 220 and 100 <= y <= 150:
                px = (250, 250, 250) if 140 <= x <= 180 and 135 <= y <= 145 else car   # car and plate
            else:
                px = (90, 90, 96) if (y - 60) % 40 or x % 60 > 30 else (240, 240, 240)  # road, markings
            row.extend(px)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


def _device(camera: str = "traffic"):
    name = PARKING_DEVICE_NAME if camera == "parking" else DEVICE_NAME
    device = Device.objects.filter(name=name).order_by("pk").first()
    if device is None:  # the secret is not kept
        if camera == "parking":
            device, _secret = signing.device_create(name=name, place=PARKING_DEVICE_PLACE, kind="parking",
                                                    area=PARKING_DEVICE_AREA)
        else:
            device, _secret = signing.device_create(name=name, place=DEVICE_PLACE, kind="traffic")
    return device


def _existing(spec: Seeded) -> Violation | None:
    """The demo record already recorded, by either demo camera."""
    return (Violation.objects.filter(device__name__in=DEVICE_NAMES, device_record_id=spec.record_id)
            .order_by("pk").first())


def _occurred(spec: Seeded, now: dt.datetime) -> dt.datetime:
    day = timezone.localdate(now) - dt.timedelta(days=spec.days_ago)
    return dt.datetime.combine(day, dt.time(*spec.at), tzinfo=timezone.get_current_timezone())


def _record(spec: Seeded, device, now: dt.datetime, result: DemoViolations):
    vehicle = vehicle_by_plate(plate=spec.plate)
    if vehicle is None:
        return None
    existing = _existing(spec)
    if existing is not None:
        return existing
    if spec.camera != "traffic":
        device = _device(spec.camera)
    recorded = services.violation_record(
        plate=vehicle.plate, plate_type=vehicle.plate_type, code=spec.code, place=spec.place,
        occurred_at=_occurred(spec, now), source="device", actor=CAMERA_ACTOR, device=device,
        device_record_id=spec.record_id,
        photos=[services.photo_check(scene_png(car=(30, 90, 170) if spec.plate == CAR_PLATE else (235, 235, 235)))])
    if recorded.created:
        result.recorded.append(spec.key)
    return recorded.violation


def demo_violations(*, now: dt.datetime | None = None) -> DemoViolations:
    """Seed the demo citizen's violations (see the module's docstring); returns what this call did."""

    now = now or clock.now()
    result = DemoViolations()
    citizen = user_by_phone(phone=CITIZEN_PHONE)
    if citizen is None or citizen.person_id is None:
        result.missing = f"no demo citizen account with phone {CITIZEN_PHONE}"
        return result
    device = _device()
    result.device = device.name
    by_key = {spec.key: spec for spec in SEEDED}

    # 1. the misread record first, then the parking violation it keeps from being waived at once; then the review
    #    revokes the misread one, which leaves the parking violation open and eligible for the waiver
    misread = _record(by_key["misread"], device, now, result)
    _record(by_key["waiver"], device, now, result)
    if misread is not None and misread.status not in (Violation.Status.REVOKED,):
        services.violation_revoke(violation=misread, actor=ACTOR, reason=MISREAD_REASON)
        result.revoked.append("misread")
    _record(by_key["counter"], device, now, result)

    # 2. recorded and handled online 25 days ago: the clock is moved back for it (and forward again, also when
    #    the caller's clock is frozen), so the decision date, and with it the late fee, are those of that day
    late = _existing(by_key["late"])
    if late is None or not PenaltyDecision.objects.filter(violation=late).exists():
        back = dt.timedelta(days=LATE_DECISION_DAYS_AGO)
        clock.advance(-back)
        try:
            late = _record(by_key["late"], device, now, result)
            if late is not None and late.status == Violation.Status.RECORDED:
                services.violation_handle_online(user=citizen, violation_id=late.pk)
                result.handled.append("late")
        finally:
            clock.advance(back)

    # 3. the one to handle online now
    _record(by_key["online"], device, now, result)

    # 4. the detained licence of the "detained" showcase driver, its violation handled and paid
    result.detention = demo_detention(now=now)
    return result


DETENTION_NOTICE = "440300KL2026001"
DETENTION_PLATE = "粤BH2Q75"
DETENTION_PLACE = ("福田交警大队违法处理窗口", "深圳市福田区福强路3028号")
DETENTION_PHONE = "15800158000"


def _pay_through_simulator(*, decision: PenaltyDecision, user) -> None:
    """Pay a decision's fine as the citizen would: an order, the simulator's confirmation, its signed callback."""
    from jiaoguan.payments import services as payments_services
    from jiaoguan.payments import simulator
    from jiaoguan.payments.models import SimTrade

    item = payments.payable_for_source(source_type=services.SOURCE_TYPE, source_id=str(decision.pk))
    if item is None or item.status != "unpaid":
        return
    payer = Actor.of(user)
    order = payments_services.order_create(payer_person_id=decision.person_id, item_ids=[item.pk], actor=payer)
    payments_services.order_pay(order=order, actor=payer)
    trade = SimTrade.objects.get(out_trade_no=order.reference)
    simulator.sim_trade_confirm(token=trade.token)
    trade.refresh_from_db()
    body, headers = simulator.sim_callback(trade, "paid")
    payments_services.callback_receive(channel="sim", body=body, headers=headers)


def demo_detention(*, now: dt.datetime | None = None) -> str:
    """The detained licence (see the module's docstring): recorded once (by its notice number), then each later
    step only when it is still to do. Returns what it found or did, for the summary."""
    now = now or clock.now()
    user = user_by_phone(phone=DETENTION_PHONE)
    vehicle = vehicle_by_plate(plate=DETENTION_PLATE)
    if user is None or user.person_id is None or vehicle is None:
        return "none (no detained showcase driver)"
    d = Detention.objects.filter(notice_number=DETENTION_NOTICE).first()
    if d is None:
        occurred = now - dt.timedelta(days=2, hours=1)
        v = services.violation_record(plate=vehicle.plate, plate_type=vehicle.plate_type, code="1352",
                                      place="福田区深南大道（香蜜湖段）", occurred_at=occurred, source="on_site",
                                      actor=ACTOR).violation
        d = services.detention_record(actor=ACTOR, kind="licence", notice_number=DETENTION_NOTICE,
                                      violation_ids=[v.pk], held_at_name=DETENTION_PLACE[0],
                                      held_at_address=DETENTION_PLACE[1], detained_at=occurred,
                                      id_number=user.person.id_number or "")
    v = d.violations.order_by("pk").first()
    if v is not None and v.status == Violation.Status.RECORDED:
        licence = registry_selectors.licence_for_person(person=user.person)
        services.violation_handle_counter(violation=v, licence=licence, actor=ACTOR)
        v.refresh_from_db()
    decision = selectors.decision_for(violation=v) if v is not None else None
    if decision is not None and v is not None and v.status == Violation.Status.HANDLED:
        _pay_through_simulator(decision=decision, user=user)
    d.refresh_from_db()
    return f"licence detained ({d.notice_number}, {d.get_status_display()})"


def demo_violation_lines(*, phone: str = CITIZEN_PHONE, on: dt.date | None = None) -> list[str]:
    """What the demo citizen can try with their violations, as it stands in the database (for the summary that
    every ``make run`` prints): one line per seeded violation with its status, fine, points and late fee."""

    rows = {v.device_record_id: v for v in Violation.objects.filter(
        device__name__in=DEVICE_NAMES, device_record_id__in=[s.record_id for s in SEEDED]).select_related("code")}
    if not rows:
        return []
    lines = []
    for spec in sorted(SEEDED, key=lambda s: ("online", "counter", "waiver", "late", "misread").index(s.key)):
        v = rows.get(spec.record_id)
        if v is None:
            continue
        status_zh, status_en = zh_en(Violation.Status(v.status).label)
        money = f"¥{v.fine_fen / 100:.2f}" if v.fine_fen else "警告 warning"
        extra = ""
        decision = selectors.decision_for(violation=v)
        if decision is not None and v.status == Violation.Status.HANDLED and decision.fine_fen:

            item = payments.payable_for_source(source_type="violations.decision", source_id=str(decision.pk))
            if item is not None:
                _principal, fee, total = payments.payable_amount_due(item=item, on=on)
                extra = f", 滞纳金 late fee ¥{fee / 100:.2f}, 应缴 due ¥{total / 100:.2f}"
        lines.append(f"{format_plate(v.plate)} {spec.what}, {money}, {v.points} 分 points — {status_zh} "
                     f"{status_en}{extra}: {spec.try_zh} / {spec.try_en}")
    return lines
