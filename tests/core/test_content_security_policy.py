"""The Content-Security-Policy (django-csp, settings.CONTENT_SECURITY_POLICY): on every page, strict, and nothing in
the templates or the inline SVG codes that it would block. The browser side is e2e/test_content_security_policy.py."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from jiaoguan.payments.reference import reference_barcode_svg, reference_qr_svg, svg_fluid

pytestmark = pytest.mark.django_db

SRC = Path(__file__).resolve().parents[2] / "src" / "jiaoguan"
POLICY = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
    "object-src": "'none'", "base-uri": "'self'", "form-action": "'self'", "frame-ancestors": "'none'",
}
# what style-src 'self' / script-src 'self' block: inline <style>, style="…", inline <script>, on*= handlers,
# javascript: URLs
INLINE = re.compile(r"""<style\b|\sstyle\s*=|<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=\s*["'{]|javascript:""", re.I)


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in (p.strip() for p in header.split(";"))}


@pytest.mark.parametrize("path", ["/", "/login/", "/services/", "/console/login/", "/admin/login/"])
def test_every_page_carries_the_strict_policy(client, path):
    r = client.get(path)
    assert r.status_code == 200
    assert _policy(r) == POLICY


def test_error_and_api_answers_carry_it_too(client):
    assert _policy(client.get("/no-such-page/")) == POLICY
    assert _policy(client.get("/api/v1/health")) == POLICY


def test_no_template_holds_what_the_policy_blocks():
    """Inline <style>, style="…", inline <script>, on*= handlers and javascript: URLs live in the static files
    (core/static/jiaoguan/site.css, site.js, portal/static/portal/css/, console/static/console/css/)."""
    found = []
    for template in sorted(SRC.glob("*/templates/**/*.html")):
        for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), 1):
            if INLINE.search(line):
                found.append(f"{template.relative_to(SRC)}:{number}: {line.strip()[:80]}")
    assert found == []


def test_the_moved_stylesheets_are_linked_and_exist(client):
    from django.contrib.staticfiles import finders

    linked = set()
    for template in SRC.glob("*/templates/**/*.html"):
        linked |= set(re.findall(r"""\{% static '([^']+\.(?:css|js))' %\}""", template.read_text(encoding="utf-8")))
    assert {"jiaoguan/site.css", "jiaoguan/site.js", "portal/css/applications.css", "console/css/applications.css"} <= linked
    assert [name for name in sorted(linked) if not finders.find(name)] == []


def test_the_payment_codes_carry_no_inline_style():
    """python-barcode writes style="fill:…": the policy would drop those and paint the white background black,
    so they become SVG attributes (fill=, font-size=, text-anchor=)."""
    for svg in (reference_barcode_svg("440391000000000130"), svg_fluid(reference_qr_svg("440391000000000130"))):
        assert not INLINE.search(svg)
    barcode = reference_barcode_svg("440391000000000130")
    assert '<rect width="100%" height="100%" fill="white"/>' in barcode
    assert 'fill="black" font-size="8pt" text-anchor="middle"' in barcode
