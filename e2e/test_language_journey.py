"""Journey: a citizen switches the language with the header's button and back; the page reads in one language
each way (issue 9 §6). The full check of every page in both languages is tests/portal/test_language_purity.py;
this is the browser's view of it: the switch itself, the cookie it sets, and what a reader sees."""
from __future__ import annotations

import re

import pytest

from tests.portal.support import PASSWORD, citizen_records, register

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CJK = re.compile(r"[\u3400-\u9fff]+")
# What a reader reads: the body's text without aria-hidden decoration (the "交" emblem of the header)
READ = """() => { const b = document.body.cloneNode(true);
                  b.querySelectorAll('[aria-hidden="true"], script, style').forEach(e => e.remove());
                  document.documentElement.appendChild(b); const t = b.innerText; b.remove(); return t; }"""


def test_switching_language_changes_every_label_of_the_page(journey):
    person, _licence, car = citizen_records(name="林小雨", classes="C1")
    register(person)
    j = journey("language")
    page = j.page

    j.goto("/me/")
    page.get_by_label("手机号码").fill(person.phone)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/me/")

    # Chinese: the vehicle's plate type and the licence's status are Chinese labels only
    text = j.text()
    assert "小型汽车" in text and "Small car" not in text
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    j.shot("01-me-zh")

    # switch to English with the header's button
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "en"
    text = j.text()
    assert "Small car" in text and "小型汽车" not in text
    data = {person.name, person.name[0] + "*" + person.name[-1], person.address, car.brand, "中文"}
    leftover = CJK.findall(_without(page.evaluate(READ), data))
    assert leftover == [], f"Chinese left on the English page: {leftover}"
    j.shot("02-me-en")

    # another page keeps the language (the cookie), and the way back is one tap
    j.goto("/services/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert not CJK.findall(_without(page.evaluate(READ), {"中文"})), "the services hall has Chinese labels in English"
    j.shot("03-services-en")
    page.get_by_role("button", name="中文").click()
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "English" in j.text() and not re.search(r"\b(?:Services|Apply|Guide)\b", j.text())
    j.shot("04-services-zh")


def _without(text: str, values) -> str:
    for value in sorted((v for v in values if v), key=len, reverse=True):
        text = text.replace(value, " ")
    # plates (粤B·12345) are data
    return re.sub(r"[\u4e00-\u9fff][A-Z]·?[A-Z0-9]{4,6}", " ", text)
