"""Test data for the portal, console and e2e tests: citizens with registry records and accounts, staff accounts.

Accounts are made through the identity services (the real registration with an SMS code), so the pages are
tested against what a real sign-up produces.
"""
from __future__ import annotations

import datetime as dt
import re

from django.core.cache import cache

from jiaoguan.core import clock
from jiaoguan.registry.models import Vehicle
from tests.factories import make_licence, make_person, make_policy, make_vehicle

PASSWORD = "Jg-secure-2024"
IP = "203.0.113.7"


def citizen_records(*, name: str = "李明", classes: str = "C1", probation: bool = False, points: int = 0,
                    nev: bool = False, licence: bool = True, vehicle: bool = True, insured: bool = True,
                    address: str = "广东省深圳市南山区科技园路1号"):
    """A registry person with (optionally) a licence and a vehicle with compulsory insurance."""
    from jiaoguan.registry.rules import probation_end

    person = make_person(name=name, address=address)
    lic = None
    if licence:
        today = clock.today()
        if probation:
            first = today - dt.timedelta(days=100)
            lic = make_licence(person=person, classes=classes, first_issue=first,
                               probation_until=probation_end(first), cycle_points=points)
        else:
            lic = make_licence(person=person, classes=classes, cycle_points=points)
    car = None
    if vehicle:
        if nev:
            from tests.factories import _seq  # the factories' counter keeps plates unique
            car = make_vehicle(owner=person, plate=f"粤BD{next(_seq) % 10000:04d}", plate_type=Vehicle.PlateType.NEV_SMALL,
                               brand="比亚迪 汉EV")
        else:
            car = make_vehicle(owner=person)
        if insured:
            make_policy(vehicle=car)
    return person, lic, car


def register(person, *, password: str = PASSWORD, ip: str = IP):
    """A citizen account for ``person`` made by the real registration (SMS code to the phone on file)."""
    from jiaoguan.identity.services import citizen_register, sms_code_request
    from tests.notifications.helpers import last_code

    sms_code_request(phone=person.phone, purpose="register", ip=ip)
    code = last_code(person.phone)
    assert code, "no registration code was sent"
    user = citizen_register(phone=person.phone, code=code, name=person.name, id_number=person.id_number,
                            password=password, ip=ip)
    cache.clear()  # forget the SMS rate counters, so a test may ask for another code at once
    return user


def citizen(**kwargs):
    """(user, person, licence, vehicle): a registered citizen with records."""
    person, lic, car = citizen_records(**kwargs)
    return register(person), person, lic, car


def admin_user(username: str = "admin001"):
    from jiaoguan.identity.services import staff_bootstrap

    return staff_bootstrap(username=username, display_name="系统管理员", password=PASSWORD)


def staff_user(role: str, username: str, *, display_name: str = "", admin=None):
    """A staff account made the way administrators make them (identity.services.staff_create)."""
    from jiaoguan.identity.services import staff_create

    admin = admin or admin_user(username=f"adm{username}"[:20])
    return staff_create(actor=admin, username=username, display_name=display_name or f"民警{username[-3:]}",
                        role=role, password=PASSWORD)


_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def text(response) -> str:
    """The visible text of a page, whitespace collapsed: assert on what a person reads."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    import html as html_lib

    return _SPACE.sub(" ", html_lib.unescape(_TAGS.sub(" ", html))).strip()


def field_errors(response, field: str, *, form: str = "form") -> list[str]:
    """The error messages beside ``field`` (from the form in the template's context), each checked to be on the
    page inside that field's block, so a test of a message is also a test that the person sees it."""
    import html as html_lib

    messages = list(response.context[form].errors.get(field, []))
    bound = response.context[form][field]
    content = response.content.decode()
    blocks = [b for b in content.split('<div class="field')[1:] if f'id="{bound.auto_id}"' in b.split("</div>")[0]]
    for message in messages:
        shown = f'<p class="field-error">{html_lib.escape(message)}</p>'
        assert blocks and shown in blocks[0], f"{field}: {message!r} is not shown beside the field"
    return messages


EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def browser_log_in(j, phone: str, path: str) -> None:
    """In a browser journey (e2e, ``j`` the journey fixture's tab): log in on the portal with a phone and the test
    password, starting from the login page that leads to ``path``, and wait until ``path`` is reached."""
    j.goto(f"/login/?next={path}")
    j.page.get_by_label("手机号码").fill(phone)
    j.page.get_by_label("密码", exact=True).fill(PASSWORD)
    j.page.get_by_role("button", name="登录", exact=True).click()
    j.page.wait_for_url(f"**{path}")


def browser_console_log_in(j, username: str) -> None:
    """In a browser journey: log in on the staff console with a username and the test password, and wait for the
    console's home page."""
    j.goto("/console/login/")
    j.page.get_by_label("用户名（警号）").fill(username)
    j.page.get_by_label("密码", exact=True).fill(PASSWORD)
    j.page.get_by_role("button", name="登录", exact=True).click()
    j.page.wait_for_url(j.base_url + "/console/")


def browser_submit_application(j) -> None:
    """In a browser journey, on a filled application form: go to the check step, submit, and wait for the
    application's page (我的申请 → the application)."""
    j.page.get_by_role("button", name="下一步：核对信息").click()
    j.page.wait_for_url("**/check/")
    j.page.get_by_role("button", name="确认提交").click()
    j.page.wait_for_url("**/services/mine/*/")
