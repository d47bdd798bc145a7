"""An e-credential's PDF (credentials/documents.py): a real PDF with the number, the masked fields and the QR code of
the verification address; the holder's only (404 for anyone else); refused with 409 once revoked or expired; from
the API and the holder's page."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import segno
from reportlab.lib.rl_accel import escapePDF

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict
from jiaoguan.credentials import documents, rules, selectors, services
from jiaoguan.identity import services as identity
from tests.credentials.conftest import holder, issue
from tests.portal.support import EN

pytestmark = pytest.mark.django_db

STATEMENT = ("证明事项", "Statement", "截至2026-12-08 10:00，本市机动车登记系统中无登记在其名下的机动车 No vehicle is "
             "registered to this person")
FIELDS = [("姓名", "Name", "陈*行"), ("身份证明号码", "ID number", "440305199001011234"), STATEMENT]


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=user)}"}


def drawn(pdf: bytes, text: str) -> bool:
    """Is ``text`` drawn on the page (uncompressed)? In Helvetica it is a plain string; in STSong-Light UCS-2."""
    in_cjk_font = escapePDF(text.encode("utf-16-be")).encode("latin-1") in pdf
    return in_cjk_font or (text.isascii() and b"(" + escapePDF(text.encode()).encode("latin-1") + b")" in pdf)


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


def url_of(c) -> str:
    return "http://testserver" + selectors.verify_url(c)


def test_the_pdf_states_the_credential_and_carries_its_qr_code(user):
    c = issue(user, fields=FIELDS)
    pdf = documents.credential_pdf(credential=c, status=services.credential_status(c), verify_url=url_of(c),
                                   compress=False)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF") and page_count(pdf) == 1
    assert drawn(pdf, rules.number_display(c.number))
    assert drawn(pdf, "货车通行证") and drawn(pdf, "Truck pass permit") and drawn(pdf, "深圳市公安局交通警察局")
    # the holder's ID number masked as on screen (an unmasked one given at issue is masked too), the name masked
    assert drawn(pdf, "4403**********1234") and not drawn(pdf, "440305199001011234") and drawn(pdf, "陈*行")
    # issue time in Beijing time, and the dates
    assert drawn(pdf, f"{clock.localtime(c.issued_at):%Y-%m-%d %H:%M}（北京时间 Beijing time）")
    assert drawn(pdf, c.valid_until.isoformat())
    assert drawn(pdf, "文中时间均为北京时间（UTC+8）。All times are Beijing time (UTC+8).")
    # the footer says what the PDF is, in both languages
    assert drawn(pdf, "以二维码核验为准。本文件是电子证照的打印件，不含PDF数字签名；扫描二维码，核验页面显示的状态即为准。")
    assert drawn(pdf, "Verify by the QR code. This file is a print of the e-credential and carries no PDF digital "
                      "signature:")
    assert b"/STSong-Light" in pdf  # the built-in CID font: no font file needed
    # the QR code is the page's: the same matrix segno draws for the verification address (one square per module)
    modules = sum(sum(row) for row in segno.make_qr(url_of(c), error="m").matrix)
    assert modules > 100 and pdf.count(b" re f") >= modules


def test_compressed_by_default_and_smaller(user, credential):
    status = services.credential_status(credential)
    small = documents.credential_pdf(credential=credential, status=status, verify_url=url_of(credential))
    plain = documents.credential_pdf(credential=credential, status=status, verify_url=url_of(credential),
                                     compress=False)
    assert small.startswith(b"%PDF-") and b"/FlateDecode" in small and len(small) < len(plain)


def test_a_revoked_expired_or_altered_credential_is_not_printed(user):
    c = issue(user)
    services.credential_revoke(credential_id=c.pk, actor=Actor.system("test"), reason="信息有误")
    with pytest.raises(Conflict) as exc:
        documents.credential_pdf(credential=c, status=services.credential_status(c), verify_url=url_of(c))
    assert exc.value.code == "credentials.not_printable" and "已被注销" in exc.value.zh and "revoked" in exc.value.en
    for status, zh in ((rules.EXPIRED, "已过有效期"), (rules.SIGNATURE_MISMATCH, "签名校验失败")):
        with pytest.raises(Conflict) as exc:
            documents.printable_check(status)
        assert zh in exc.value.zh
    documents.printable_check(rules.NOT_YET_VALID)  # valid from a later date: printed (the page shows its QR too)


def test_api_holder_only(client, user, credential):
    url = f"/api/v1/me/credentials/{credential.number}/pdf"
    r = client.get(url, **auth(user))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    assert r["Content-Disposition"] == (f'attachment; filename="jiaoguan-truck_pass-{credential.number}.pdf"; '
                                        f"filename*=UTF-8''%E8%B4%A7%E8%BD%A6%E9%80%9A%E8%A1%8C%E8%AF%81-"
                                        f"{credential.number}.pdf")
    assert r["Cache-Control"] == "private, no-store"
    other = holder(name="王五六")
    r = client.get(url, **auth(other))
    assert r.status_code == 404 and r.json()["code"] == "core.not_found"
    assert client.get(url).status_code == 401
    assert client.get("/api/v1/me/credentials/202600000000000/pdf", **auth(user)).status_code == 404


def test_api_refuses_a_revoked_or_expired_one_with_the_reason(client, user, credential):
    services.credential_revoke(credential_id=credential.pk, actor=Actor.system("test"), reason="车辆已报废")
    r = client.get(f"/api/v1/me/credentials/{credential.number}/pdf", **auth(user))
    assert r.status_code == 409 and r.json()["code"] == "credentials.not_printable"
    assert r.json()["message"] == "该电子证照已被注销，不能下载PDF文件"
    r = client.get(f"/api/v1/me/credentials/{credential.number}/pdf", HTTP_ACCEPT_LANGUAGE="en", **auth(user))
    assert r.json()["message"] == "This e-credential has been revoked: no PDF is issued for it"
    old = issue(user, valid_from=clock.today() - dt.timedelta(days=40), days=30)
    r = client.get(f"/api/v1/me/credentials/{old.number}/pdf", **auth(user))
    assert r.status_code == 409 and "expired" in client.get(
        f"/api/v1/me/credentials/{old.number}/pdf", HTTP_ACCEPT_LANGUAGE="en", **auth(user)).json()["message"]


def test_page_link_and_download(client, user, credential):
    client.force_login(user)
    html = client.get(f"/credentials/{credential.number}/").content.decode()
    link = f"/credentials/{credential.number}/pdf/"
    assert f'href="{link}"' in html and "下载PDF文件" in html
    assert "Download the PDF" in client.get(f"/credentials/{credential.number}/", **EN).content.decode()
    r = client.get(link)
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    other = holder(name="王五六")
    client.force_login(other)
    assert client.get(link).status_code == 404
    client.logout()
    r = client.get(link)
    assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_page_of_a_revoked_one_has_no_link_and_the_pdf_is_refused(client, user, credential):
    services.credential_revoke(credential_id=credential.pk, actor=Actor.system("test"), reason="车辆已报废")
    client.force_login(user)
    html = client.get(f"/credentials/{credential.number}/").content.decode()
    assert "/pdf/" not in html and "下载PDF文件" not in html
    r = client.get(f"/credentials/{credential.number}/pdf/")
    assert r.status_code == 409 and "该电子证照已被注销，不能下载PDF文件" in r.content.decode()
