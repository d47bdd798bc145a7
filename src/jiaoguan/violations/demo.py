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
from jiaoguan.registry.selectors import vehicle_by_plate
from jiaoguan.violations import selectors, services, signing
from jiaoguan.violations.models import Device, PenaltyDecision, Violation

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
    missing: str = ""  # why nothing was seeded (no demo citizen)

    def __str__(self) -> str:
        if self.missing:
            return f"none ({self.missing})"
        return (f"camera {self.device}; recorded {', '.join(self.recorded) or 'nothing new'}; "
                f"revoked {', '.join(self.revoked) or '-'}; handled {', '.join(self.handled) or '-'}")


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
    return result


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
