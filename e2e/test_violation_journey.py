"""Journeys (violations): a citizen sees a camera-recorded violation with its photo, handles it online and pays the
fine through the channel simulator (e-receipt); a first-violation waiver; a cloned-plate dispute that an approver
confirms in the staff console."""
from __future__ import annotations

import secrets
import struct
import zlib

import pytest

from jiaoguan.core.audit import Actor
from jiaoguan.violations import services
from jiaoguan.violations.models import Dispute, PenaltyDecision, Violation
from tests.portal.support import PASSWORD, citizen, staff_user
from tests.violations.conftest import _codes, _media  # noqa: F401 - autouse fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def device():
    """A camera (the violations tests' fixture, defined here so the name is this module's own)."""
    from jiaoguan.violations import signing

    made, _secret = signing.device_create(name="深南大道电警01", place="深南大道")
    return made


def scene_png(width: int = 320, height: int = 180) -> bytes:
    """A real (decodable) PNG of a road with a car and a red light, so the browser shows a picture."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            if y < 60:
                px = (176, 204, 232)                                   # sky
            elif 100 <= x <= 220 and 100 <= y <= 150:
                px = (30, 90, 170) if not (140 <= x <= 180 and 135 <= y <= 145) else (250, 250, 250)  # car, plate
            elif 20 <= x <= 34 and 20 <= y <= 60:
                px = (220, 30, 30) if y < 34 else (40, 40, 40)         # traffic light
            else:
                px = (90, 90, 96) if (y - 60) % 40 or x % 60 > 30 else (240, 240, 240)  # road with markings
            row.extend(px)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def camera(car, device, code: str) -> Violation:
    import datetime as dt

    from jiaoguan.core import clock

    return services.violation_record(
        plate=car.plate, plate_type=car.plate_type, code=code, place="深南大道与彩田路交叉口",
        occurred_at=clock.now() - dt.timedelta(days=2), source="device", actor=Actor.system("e2e-camera"),
        device=device, device_record_id=secrets.token_hex(6), photos=[services.photo_check(scene_png())]).violation


def log_in(j, user):
    j.goto("/login/?next=/me/violations/")
    j.page.get_by_label("手机号码").fill(user.phone)
    j.page.get_by_label("密码", exact=True).fill(PASSWORD)
    j.page.get_by_role("button", name="登录", exact=True).click()
    j.page.wait_for_url("**/me/violations/")


def photo_shown(page) -> bool:
    """The first evidence photo has loaded and decoded (waits for it, up to the page's timeout)."""
    page.locator(".evidence img").first.scroll_into_view_if_needed()
    page.wait_for_function("() => { const i = document.querySelector('.evidence img'); "
                           "return i && i.complete && i.naturalWidth > 0; }")
    return True


def test_see_handle_and_pay_a_violation(journey, device):
    user, _person, _licence, car = citizen(name="吴处理")
    v = camera(car, device, "1352")
    j = journey("violation-handle")
    page = j.page
    log_in(j, user)

    # 1. the list: the violation with its status
    body = j.text()
    assert "我的违法" in body and "未处理" in body and "¥200.00" in body
    j.shot("01-list")

    # 2. the detail: photo, code, place, time, fine, points
    page.get_by_role("link", name="查看详情").first.click()
    page.wait_for_url(f"**/me/violations/{v.pk}/")
    assert photo_shown(page)
    body = j.text()
    assert "1352" in body and "深南大道与彩田路交叉口" in body and "记分" in body
    j.shot("02-detail")

    # 3. handle online: the decision number and the way to pay
    page.get_by_role("button", name="确认违法事实，网上处理").click()
    page.wait_for_url(f"**/me/violations/{v.pk}/")
    decision = PenaltyDecision.objects.get(violation=v)
    body = j.text()
    assert "处理成功" in body and decision.number in body and "已处理未缴款" in body
    j.shot("03-decision")

    # 4. pay through the simulator and see the e-receipt
    page.get_by_role("link", name="去缴款").click()
    page.wait_for_url("**/me/payments/")
    assert decision.number in j.text()
    page.get_by_role("button", name="缴纳所选款项").click()
    page.wait_for_url("**/pay/sim/**")
    page.get_by_role("button", name="确认支付").click()
    # the pay page posts back to its own address: wait for the paid page itself, not just any "load"
    page.get_by_role("link", name="查看电子回单").wait_for()
    assert "支付成功" in j.text()
    page.get_by_role("link", name="查看电子回单").click()
    page.wait_for_url("**/pay/receipt/**")
    assert "电子回单" in j.text() and "¥200.00" in j.text()
    j.shot("04-receipt")

    # 5. 我的消息: the violation recorded, the decision and the payment, each told once (the outbox ran after
    # each commit); then the same messages in English, though they were sent in Chinese
    j.goto("/me/messages/")
    body = j.text()
    assert "交通违法记录提醒" in body and "处罚决定已作出" in body and "缴费成功" in body
    assert decision.number in body
    j.shot("05-messages")
    page.get_by_role("button", name="English").click()
    page.get_by_role("button", name="中文").wait_for()
    body = j.text()
    assert "Traffic violation recorded" in body and "Penalty decision issued" in body and "Payment received" in body
    assert "交通违法记录提醒" not in body and "缴费成功" not in body
    j.shot("06-messages-english")


def test_first_violation_waiver(journey, device, settings):
    user, _person, _licence, car = citizen(name="郑首违")
    settings.JIAOGUAN_VIOLATIONS = {"WAIVER_RULES": ()}  # not waived when recorded
    v = camera(car, device, "1116")
    settings.JIAOGUAN_VIOLATIONS = {"WAIVER_RULES": ("national",)}
    j = journey("violation-waiver")
    page = j.page
    log_in(j, user)
    j.goto(f"/me/violations/{v.pk}/")
    assert "首违免罚" in j.text() and "首违警告" in j.text()
    j.shot("01-detail")
    page.get_by_role("button", name="申请首违免罚").click()
    page.wait_for_url(f"**/me/violations/{v.pk}/")
    body = j.text()
    assert "不罚款、不记分" in body and "免罚依据" in body
    v.refresh_from_db()
    assert (v.status, v.points, v.fine_fen) == ("waived", 0, 0)
    j.shot("02-waived")


def test_red_light_offers_no_waiver_and_says_why(journey, device):
    """A 6-point red-light violation (a new-energy car: its plate is drawn green): the waiver button is not
    offered, and the page says why before any tap; the disabled look of a refused action is not needed."""
    user, _person, _licence, car = citizen(name="钱闯灯", nev=True)
    v = camera(car, device, "1625")
    j = journey("violation-no-waiver")
    page = j.page
    log_in(j, user)
    j.goto(f"/me/violations/{v.pk}/")
    assert photo_shown(page)
    body = j.text()
    assert "该违法不能申请首违免罚" in body and "不在全国首违警告清单内" in body
    assert page.get_by_role("button", name="申请首违免罚").count() == 0
    assert "nev" in page.locator(".vehicle-head .plate").get_attribute("class")
    page.locator("#waiver-refused").scroll_into_view_if_needed()
    j.shot("01-detail-no-waiver")


def test_cloned_plate_dispute_confirmed_in_the_console(journey, device, tmp_path):
    user, person, _licence, car = citizen(name="冯套牌")
    v = camera(car, device, "1352")
    staff_user("approver", "appr501", display_name="审批林警官")
    j = journey("violation-dispute")
    page = j.page
    log_in(j, user)
    j.goto(f"/me/violations/{v.pk}/")
    page.get_by_role("link", name="对此违法有异议？我被套牌 / 申诉").click()
    page.wait_for_url("**/me/violations/disputes/new/?violation=*")
    page.get_by_label("我被套牌").check()
    page.get_by_label("申诉理由").fill("违法时本车停放在小区地下车库，物业监控可以证明")
    photo = tmp_path / "garage.png"
    photo.write_bytes(scene_png(200, 120))
    page.get_by_label("证明材料照片（可选）").set_input_files(str(photo))
    j.shot("01-form")
    page.get_by_role("button", name="提交申诉").click()
    page.wait_for_url("**/me/violations/")
    assert "申诉已提交" in j.text() and "申诉中" in j.text()
    j.shot("02-submitted")
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(j.base_url + "/")

    # the approver's queue
    j.goto("/console/login/")
    page.get_by_label("用户名（警号）").fill("appr501")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(j.base_url + "/console/")
    j.goto("/console/disputes/")
    assert "待审核 1 件" in j.text()
    j.shot("03-queue")
    page.get_by_role("link", name="审核", exact=True).click()
    d = Dispute.objects.get()
    page.wait_for_url(f"**/console/disputes/{d.pk}/")
    assert "违法时本车停放在小区地下车库" in j.text() and person.name not in j.text()
    assert photo_shown(page)
    j.shot("04-dispute")
    page.get_by_label("审核意见").fill("调取监控核实，违法车辆为套牌车")
    page.get_by_role("button", name="确认申诉成立").click()
    page.wait_for_url("**/console/disputes/")
    assert "已确认成立" in j.text() and "没有待审核的申诉" in j.text()
    j.shot("05-confirmed")
    v.refresh_from_db()
    d.refresh_from_db()
    assert v.status == "revoked" and d.status == "confirmed"
