"""电子证照 (e-credentials) pages: the holder's list and each permit with its QR code (login, own only) and its PDF
(own only, in force only), and the public verification page the QR code opens (no login; shows the status and only
the masked public fields).

Thin views over ``jiaoguan.credentials`` services and selectors. Every page works without JavaScript.
"""
from __future__ import annotations

import io

import segno
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from jiaoguan.core.errors import NotFound, RateLimited
from jiaoguan.core.http import client_ip
from jiaoguan.core.i18n import bi
from jiaoguan.credentials import documents, rules, selectors, services
from jiaoguan.payments.reference import svg_fluid
from jiaoguan.portal.views import citizen_required

TONES = {rules.VALID: "ok", rules.NOT_YET_VALID: "warn", rules.EXPIRED: "bad", rules.REVOKED: "bad",
         rules.SIGNATURE_MISMATCH: "bad", rules.NOT_FOUND: "bad"}


def qr_svg(text: str, *, scale: int = 4) -> str:
    """A QR code (segno.make_qr: never Micro QR, which phone scanners miss) as inline SVG sized by CSS."""
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="svg", scale=scale, xmldecl=False, svgns=True, border=2,
                                        svgclass="qr", lineclass=None)
    return svg_fluid(out.getvalue().decode())


def _row(c) -> dict:
    status = services.credential_status(c)
    return {"c": c, "title": bi(c.title_zh, c.title_en), "status": status, "tone": TONES.get(status, ""),
            "status_label": bi(*rules.STATUS_LABELS[status]), "number_display": rules.number_display(c.number)}


@require_GET
@citizen_required
def home(request: HttpRequest) -> HttpResponse:
    rows = [_row(c) for c in selectors.credentials_for_user(user=request.user)[:100]]
    return render(request, "portal/credentials/home.html", {"rows": rows})


@require_GET
@citizen_required
def detail(request: HttpRequest, number: str) -> HttpResponse:
    try:
        c = selectors.credential_of_user(user=request.user, number=number)
    except NotFound:
        raise Http404 from None
    url = request.build_absolute_uri(selectors.verify_url(c))
    return render(request, "portal/credentials/detail.html", {
        **_row(c), "fields": [(bi(f["zh"], f["en"]), rules.field_value(f)) for f in c.fields], "verify_url": url,
        "qr": qr_svg(url)})


@require_GET
@citizen_required
def pdf(request: HttpRequest, number: str) -> HttpResponse:
    """The credential's PDF, with the same QR code as the page above. Anyone else's → 404; a revoked or expired
    one → the 409 page with the reason (the detail page offers no link then)."""
    try:
        c, data = documents.credential_pdf_of_user(
            user=request.user, number=number,
            verify_url=lambda c: request.build_absolute_uri(selectors.verify_url(c)))
    except NotFound:
        raise Http404 from None
    return documents.pdf_response(c, data)


@require_GET
def verify(request: HttpRequest, number: str, token: str) -> HttpResponse:
    """Public: whoever scans the QR code (a police officer, a car park) sees whether the credential is genuine and
    in force, with the holder's name masked and only the fields marked public."""
    try:
        services.verify_throttle(ip=client_ip(request))
    except RateLimited as exc:
        return render(request, "portal/credentials/verify.html", {"limited": exc.message()}, status=429)
    result = services.credential_verify(number=number, token=token)
    c = result.credential if result.genuine else None
    return render(request, "portal/credentials/verify.html", {
        "result": result, "c": c, "tone": TONES.get(result.status, ""),
        "status_label": bi(result.label_zh, result.label_en),
        "title": bi(c.title_zh, c.title_en) if c else "",
        "number_display": rules.number_display(c.number) if c else "",
        "fields": [(bi(zh, en), value) for zh, en, value in result.public_fields],
    }, status=404 if result.status == rules.NOT_FOUND else 200)
