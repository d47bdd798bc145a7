"""Journey (企业用户): the demo city's logistics company (demo_logistics) logs in and lands on its company page —
name, masked USCC, its truck with status, inspection and insurance, its applications and appointments, what it can
do — never on the citizen's "您名下没有驾驶证记录"; it applies for a truck pass choosing the truck from the list of
its own trucks (no plate to type), checks the answers and submits; the application shows on the company page.

The company, its account and its insured truck are the demo city's own (applications.demo), with the README's
demo password. A citizen who opens the company page is refused.
"""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.applications.models import Application
from jiaoguan.core import clock
from jiaoguan.core.identifiers import format_plate
from tests.portal.support import citizen

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def demo_company():
    """The demo city's logistics company: its account (demo_logistics) and its truck's plate."""
    from jiaoguan.applications.demo import DemoApplications, _enterprise

    return _enterprise(clock.today(), DemoApplications())


def test_the_demo_company_lands_on_its_page_and_applies_for_a_truck_pass(journey):
    from jiaoguan.identity.demo import DEMO_PASSWORD

    user, plate = demo_company()
    company = user.enterprise
    j = journey("enterprise")
    page = j.page

    # 1. log in with the demo login: the company's page, not the citizen's
    j.goto("/login/")
    page.get_by_label("手机号码").fill(user.username)
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/me/enterprise/")
    body = j.text()
    assert company.name in body and company.uscc not in body and company.uscc[:4] in body
    assert format_plate(plate) in body and "载货汽车" in body and "检验有效期至" in body and "交强险" in body
    for citizen_text in ("您好", "您名下没有驾驶证记录", "您还没有机动车"):
        assert citizen_text not in body
    j.shot("01-home")

    # 2. what the company can do: the truck pass
    page.get_by_role("link", name="货车通行证").first.click()
    page.wait_for_url("**/services/truck_pass/apply/")
    plate_select = page.get_by_label("号牌号码")
    assert plate_select.evaluate("e => e.tagName") == "SELECT"
    options = plate_select.locator("option").all_inner_texts()
    assert options[0] == "请选择" and len(options) == 2 and options[1].startswith(format_plate(plate))
    plate_select.select_option(label=options[1])  # chosen from the list, never typed
    today = clock.today()
    page.get_by_label("通行类别").select_option(label="城市配送")
    page.get_by_label("通行区域").select_option(label="南山区限行区域")
    page.get_by_label("有效期起").fill(today.isoformat())
    page.get_by_label("有效期至").fill((today + dt.timedelta(days=29)).isoformat())
    page.get_by_label("联系电话").fill("13900001234")
    j.shot("02-truck-pass-form")

    # 3. check the answers (the vehicle record and the business licence are the platform's), submit
    page.get_by_role("button", name="下一步：核对信息").click()
    page.wait_for_url("**/check/")
    body = j.text()
    assert plate in body and "城市配送" in body and "营业执照" in body and company.name in body
    j.shot("03-check")
    page.get_by_role("button", name="确认提交").click()
    page.wait_for_url("**/services/mine/*/")
    app = Application.objects.filter(applicant=user).order_by("-pk").first()
    assert app.status == "submitted" and app.form()["plate"] == plate and app.enterprise_id == company.pk

    # 4. back on the company page: the application with its status
    j.goto("/me/")
    page.wait_for_url("**/me/enterprise/")
    body = j.text()
    assert app.reference in body and "待受理" in body
    j.shot("04-home-with-application")


def test_a_citizen_is_refused_the_company_page(journey):
    from tests.portal.support import PASSWORD

    user, _person, _lic, _car = citizen(name="林小雨")
    demo_company()
    j = journey("enterprise-citizen")
    page = j.page
    j.goto("/me/enterprise/")
    page.get_by_label("手机号码").fill(user.phone)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/me/enterprise/")
    body = j.text()
    assert "企业首页仅供企业用户使用" in body and "鹏城物流" not in body
    j.shot("01-refused")
