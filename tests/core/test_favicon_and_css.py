"""Every page's icon (no 404 for /favicon.ico in the log) and disabled actions that look disabled."""
from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_favicon_ico_redirects_to_the_icon(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 301 and r["Location"].endswith("/jiaoguan/favicon.svg")
    assert finders.find("jiaoguan/favicon.svg")


def test_every_page_links_the_icon(client):
    html = client.get("/login/").content.decode()
    assert re.search(r'<link rel="icon" href="[^"]*jiaoguan/favicon\.svg"', html)


def _rules(css: str) -> list[tuple[str, str]]:
    return [(sel.strip(), body) for sel, body in re.findall(r"([^{}]+)\{([^}]*)\}", re.sub(r"/\*.*?\*/", "", css, flags=re.S))]


def test_disabled_buttons_look_disabled():
    """A disabled 确认提交 (portal/applications/check.html disables it while there are refusals) must not look
    like the enabled one: the shared stylesheet greys it and shows the not-allowed pointer."""
    css = open(finders.find("jiaoguan/site.css"), encoding="utf-8").read()
    for selector in ("button:disabled", ".button:disabled", '.button[aria-disabled="true"]'):
        bodies = [body for sel, body in _rules(css) if selector in [s.strip() for s in sel.split(",")]]
        assert bodies, f"no rule for {selector}"
        body = " ".join(bodies)
        assert "cursor: not-allowed" in body and re.search(r"opacity:\s*\.?[0-5]", body)
