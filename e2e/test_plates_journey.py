"""Journey (plates): the owner of a newly registered car opens 网上选号, draws a batch of numbers, draws again,
holds one of the plate-styled buttons (blue for an ordinary car), sees the hold's expiry time, and confirms it;
the register now shows the chosen number. Then a staff approver sees the pool and the withholding policies."""
from __future__ import annotations

import pytest

from jiaoguan.core.audit import Actor
from jiaoguan.plates import services
from jiaoguan.plates.models import Office, PlateNumber, Selection
from tests.plates.conftest import owner_with_new_car
from tests.portal.support import PASSWORD, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def pool():
    from jiaoguan.plates.demo import demo_plates

    return demo_plates(ordinary_series=("A0###",), nev_series=("D00###",))


def log_in(j, user):
    j.goto("/login/?next=/me/plates/")
    j.page.get_by_label("手机号码").fill(user.phone)
    j.page.get_by_label("密码", exact=True).fill(PASSWORD)
    j.page.get_by_role("button", name="登录", exact=True).click()
    j.page.wait_for_url("**/me/plates/")


def test_draw_redraw_hold_confirm(journey):
    pool()
    user, car = owner_with_new_car()
    j = journey("plates-select")
    page = j.page
    log_in(j, user)

    # 1. my vehicles: the new car may choose its number
    body = j.text()
    assert "网上选号" in body and "开始选号" in body
    j.shot("01-vehicles")

    # 2. start, draw: a batch of plate-styled buttons and the draws left
    page.get_by_role("button", name="开始选号").click()
    page.wait_for_url("**/me/plates/*/")
    page.get_by_role("button", name="摇号", exact=True).click()
    page.locator(".plate-btn").first.wait_for()
    sel = Selection.objects.get()
    assert page.locator(".plate-btn").count() == sel.batch_size
    assert "已摇出一组新号码" in j.text() and "剩余摇号次数" in j.text()
    first_batch = list(sel.offered)
    j.shot("02-batch")

    # 3. draw again: a new batch replaces the old one (the office allows 2 redraws: one is left)
    with page.expect_navigation():
        page.get_by_role("button", name="重新摇号").click()
    sel.refresh_from_db()
    assert sel.draws_used == 2 and sel.offered != first_batch
    assert page.locator(".draws-left").inner_text() == "1"
    j.shot("03-redrawn")

    # 4. hold one: the number with its expiry time, and confirm / release
    number = sel.offered[1]
    with page.expect_navigation():
        page.locator(".plate-btn").nth(1).click()
    page.get_by_role("button", name="确认选用此号码").wait_for()
    assert "锁定至" in j.text() and PlateNumber.objects.get(number=number).status == "held"
    j.shot("04-held")

    # 5. confirm (irreversible: the "我已核对" tick is required first): the register now carries the chosen number
    page.locator("#id_understood").check()
    page.get_by_role("button", name="确认选用此号码").click()
    page.get_by_text("号牌已确定", exact=True).wait_for()
    car.refresh_from_db()
    assert car.plate == number
    assert page.get_by_test_id("new-plate").inner_text().replace("·", "") == number  # not the old number
    j.shot("05-confirmed")


def test_staff_pool_and_policies(journey):
    made = pool()
    approver = staff_user("approver", "plateappr")
    services.plate_pool_generate(office=Office.objects.get(pk=made.office_id), kind="02", series="B00##",
                                 actor=Actor.system("e2e"))
    j = journey("plates-console")
    page = j.page
    j.goto("/console/login/?next=/console/plates/")
    page.get_by_label("用户名（警号）").fill(approver.username)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/plates/")
    assert "号牌号码池" in j.text()
    j.shot("01-pools")
    page.get_by_role("link", name="号码保留策略").first.click()
    page.wait_for_url("**/console/plates/policies/")
    assert "含数字4的号码" in j.text()
    j.shot("02-policies")
