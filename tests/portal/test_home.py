"""Home page: the service catalogue, with services still to come shown as such and never as dead links."""
import re

import pytest

from jiaoguan.portal.applications import catalogue
from tests.portal.support import EN, text

pytestmark = pytest.mark.django_db


def test_catalogue_is_consistent():
    assert catalogue.catalogue_check() == []
    codes = {c.zh for c in catalogue.CATALOGUE}
    # the categories of 12123 (DOMAIN §1)
    for name in ("驾考和车检预约", "办牌办证", "违法处理和罚款缴纳", "出行信息", "信息查询", "告知提示", "信息公开",
                 "重点对象管理", "交通安全宣传", "业务咨询"):
        assert name in codes
    assert any(s.available for s in catalogue.services())
    assert any(not s.available for s in catalogue.services())


def test_catalogue_check_finds_an_available_service_without_a_page(monkeypatch):
    broken = catalogue.Category("x", "测试", "Test", (catalogue.Service("ghost", "幽灵", "Ghost", True, "portal:nope"),
                                                    catalogue.Service("lost", "无页", "No page", True)))
    monkeypatch.setattr(catalogue, "CATALOGUE", catalogue.CATALOGUE + (broken,))
    problems = catalogue.catalogue_check()
    assert "ghost: page portal:nope does not exist" in problems
    assert "lost: available but has no page" in problems


def test_home_shows_every_service_and_marks_the_ones_to_come(client):
    r = client.get("/")
    assert r.status_code == 200
    page = text(r)
    for category in catalogue.CATALOGUE:
        assert category.zh in page
        for s in category.services:
            assert s.zh in page
    html = r.content.decode()
    # an unavailable service is not a link, and is labelled "coming soon"
    for s in catalogue.services():
        if not s.available:
            assert re.search(rf"<a [^>]*>\s*<strong>{re.escape(s.zh)}</strong>", html) is None
            block = re.search(rf'<div class="service unavailable"[^>]*><strong>{re.escape(s.zh)}</strong>'
                              rf'<span class="tag soon">(.*?)</span>', html)
            assert block and block.group(1) == "即将上线", s.code
    assert "实名注册" in page and "登录" in page


def test_no_link_on_the_home_page_is_dead(client):
    html = client.get("/").content.decode()
    hrefs = {h for h in re.findall(r'href="([^"#]*)(?:#[^"]*)?"', html) if h.startswith("/")}
    assert hrefs
    for href in hrefs:
        r = client.get(href)
        assert r.status_code in (200, 302), href
        if r.status_code == 302:  # pages behind the login send you to it
            assert r["Location"].startswith("/login/") or r["Location"] == "/", href


def test_home_in_english(client):
    r = client.get("/", **EN)
    page = text(r)
    assert "Coming soon" in page
    assert "My driving licence" in page and "Violations and fines" in page
    assert "即将上线" not in page


def test_language_switch_keeps_the_page(client):
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert r.status_code == 302 and r["Location"] == "/login/"
    assert "Log in" in text(client.get("/login/"))
