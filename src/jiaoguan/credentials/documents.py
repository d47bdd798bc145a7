"""The PDF of an e-credential (证照/证明的 PDF 文件): the same statement as the e-credential's page, on A4, for a
citizen who must hand a file or a sheet of paper to someone — an employer, a court, a car park.

The PDF is a rendering, not the authority. It carries no PDF digital signature: what makes it trustworthy is the QR
code on it, which holds exactly the address the e-credential's page shows (``selectors.verify_url`` made absolute by
the caller), so whoever holds the paper scans it and the public verification page says, from the signed record,
whether the credential is genuine, in force, expired or revoked — and shows its public fields to compare. The footer
says so in both languages. A changed PDF proves nothing; a revoked credential's old PDF fails at the QR code.

Only a credential in force (valid, or valid from a later date) is rendered: a revoked, expired or altered one is
refused (409 ``credentials.not_printable``, with the reason) rather than printed, so no fresh document ever states
something the register no longer does.

Chinese text uses reportlab's built-in CID font STSong-Light (Adobe-GB1): it needs no font file on the server, so
the PDF renders on any machine the project installs itself on; PDF readers bring the glyphs (every mainstream
reader has or substitutes an Adobe-GB1 font). Values are drawn as stored — already masked at issue (rules.
normalise_fields), and masked again on the way out (rules.field_value), like the holder's page.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import BytesIO
from urllib.parse import quote
from xml.sax.saxutils import escape

import segno
from django.conf import settings
from django.http import HttpResponse
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict
from jiaoguan.core.i18n import bi, zh_en
from jiaoguan.credentials import rules, selectors, services
from jiaoguan.credentials.models import Credential

CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
PRINTABLE = (rules.VALID, rules.NOT_YET_VALID)
# the footer of every page: Chinese first, then English (the page's own font for each)
FOOTER = (("以二维码核验为准。本文件是电子证照的打印件，不含PDF数字签名；扫描二维码，核验页面显示的状态即为准。", CJK_FONT),
          ("Verify by the QR code. This file is a print of the e-credential and carries no PDF digital signature:", LATIN_FONT),
          ("the status the verification page shows when the QR code is scanned is what counts.", LATIN_FONT))

_REFUSALS = {
    rules.REVOKED: ("该电子证照已被注销，不能下载PDF文件", "This e-credential has been revoked: no PDF is issued for it"),
    rules.EXPIRED: ("该电子证照已过有效期，不能下载PDF文件", "This e-credential has expired: no PDF is issued for it"),
    rules.SIGNATURE_MISMATCH: ("该电子证照签名校验失败，不能下载PDF文件",
                               "This e-credential failed its signature check: no PDF is issued for it"),
}


def printable_check(status: str) -> None:
    """A PDF only of a credential in force: revoked, expired or altered → 409 with the reason in both languages."""
    if status not in PRINTABLE:
        zh, en = _REFUSALS.get(status, _REFUSALS[rules.REVOKED])
        raise Conflict("credentials.not_printable", zh, en)


def pdf_filename(c: Credential) -> tuple[str, str]:
    """(ASCII name, UTF-8 name): ``jiaoguan-driver_record-202600000000004.pdf`` and ``驾驶人信息单-2026….pdf``."""
    return f"jiaoguan-{c.kind}-{c.number}.pdf", f"{c.title_zh}-{c.number}.pdf"


def content_disposition(c: Credential) -> str:
    """An attachment with an ASCII filename every client understands and the Chinese one (RFC 6266 filename*)."""
    ascii_name, utf8_name = pdf_filename(c)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(utf8_name)}"


def pdf_response(c: Credential, pdf: bytes) -> HttpResponse:
    """The PDF as a download named after the credential, never cached (the API's and the holder's page's)."""
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition(c)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _fonts() -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=CJK_FONT, fontSize=10.5, leading=15, wordWrap="CJK")
    return {
        "issuer": ParagraphStyle("issuer", base, fontSize=11, alignment=1, textColor=colors.HexColor("#444444")),
        "title": ParagraphStyle("title", base, fontSize=22, leading=30, alignment=1, spaceBefore=4),
        "title_en": ParagraphStyle("title_en", base, fontName=LATIN_FONT, fontSize=12, leading=16, alignment=1,
                                   textColor=colors.HexColor("#444444")),
        "label": ParagraphStyle("label", base, fontSize=10, leading=14),
        "value": base,
        "value_en": ParagraphStyle("value_en", base, fontSize=9, leading=13, textColor=colors.HexColor("#333333")),
        "number": ParagraphStyle("number", base, fontName=LATIN_BOLD, fontSize=13, leading=17),
        "small": ParagraphStyle("small", base, fontSize=8.5, leading=12, textColor=colors.HexColor("#333333")),
        "url": ParagraphStyle("url", base, fontName=LATIN_FONT, fontSize=7.5, leading=10, wordWrap="CJK",
                              textColor=colors.HexColor("#333333")),
    }


def qr_drawing(text: str, *, size: float) -> Drawing:
    """The QR code as vector squares: the same code the e-credential's page draws (segno.make_qr, error level M,
    never Micro QR), with its quiet zone of two modules."""
    qr = segno.make_qr(text, error="m")
    border = 2
    rows = [list(row) for row in qr.matrix]
    count = len(rows) + 2 * border
    module = size / count
    drawing = Drawing(size, size)
    drawing.add(Rect(0, 0, size, size, fillColor=colors.white, strokeColor=None))
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                drawing.add(Rect((x + border) * module, size - (y + border + 1) * module, module, module,
                                 fillColor=colors.black, strokeColor=None, strokeWidth=0))
    return drawing


# The plate's middle dot (粤B·D12345, U+00B7) is drawn as U+30FB: readers that substitute a system font for the
# non-embedded STSong-Light (poppler) show U+00B7 as a missing glyph, U+30FB as the dot.
_GLYPHS = str.maketrans({"\u00b7": "\u30fb"})


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph; all-Latin text in Helvetica (the CJK font's Latin glyphs are spaced oddly in some readers)."""
    if text.isascii() and style.fontName == CJK_FONT:
        style = ParagraphStyle(style.name + "_latin", style, fontName=LATIN_FONT)
    return Paragraph(escape(text.translate(_GLYPHS)), style)


def _label(zh: str, en: str, st: dict[str, ParagraphStyle]) -> Paragraph:
    """One line where it fits: 准驾车型 Licence classes (the English smaller, grey)."""
    return Paragraph(f'{escape(zh)} <font name="{LATIN_FONT}" size="7.5" color="#555555">{escape(en)}</font>',
                     st["label"])


def _value(value, st: dict[str, ParagraphStyle]) -> list[Paragraph]:
    zh, en = zh_en(value)
    out = [_p(zh, st["value"])]
    if en and en != zh:
        out.append(_p(en, st["value_en"]))
    return out


def _local(at: dt.datetime) -> str:
    return f"{clock.localtime(at):%Y-%m-%d %H:%M}（北京时间 Beijing time）"


def credential_pdf(*, credential: Credential, status: str, verify_url: str, compress: bool = True) -> bytes:
    """The A4 PDF of ``credential`` whose current status is ``status`` (services.credential_status), with the QR
    code of ``verify_url`` — the absolute address of its public verification page, exactly what its page's QR code
    holds. Refused (409) unless the credential is in force. ``compress=False`` leaves the page streams readable
    (tests look for the number in the text layer)."""
    printable_check(status)
    _fonts()
    st = _styles()
    c = credential
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm, bottomMargin=26 * mm,
        title=f"{c.title_zh} {c.title_en} {c.number}", author=settings.JIAOGUAN_CREDENTIAL_ISSUER_EN,
        subject=rules.number_display(c.number), creator="Jiaoguan", pageCompression=1 if compress else 0)
    width = A4[0] - 40 * mm

    story: list = [
        _p(settings.JIAOGUAN_CREDENTIAL_ISSUER_ZH, st["issuer"]),
        _p(settings.JIAOGUAN_CREDENTIAL_ISSUER_EN, ParagraphStyle("issuer_en", st["title_en"], fontSize=9)),
        Spacer(1, 4 * mm),
        _p(c.title_zh, st["title"]),
        _p(c.title_en, st["title_en"]),
        Spacer(1, 6 * mm),
    ]

    qr_size = 42 * mm
    head = [[[_label("证照编号", "Credential number", st), Paragraph(rules.number_display(c.number), st["number"]),
              Spacer(1, 3 * mm),
              _label("持证人", "Holder", st), _p(c.holder_display or "—", st["value"]),
              Spacer(1, 3 * mm),
              _p("状态：" + rules.STATUS_LABELS[status][0], st["value"]),
              _p("Status: " + rules.STATUS_LABELS[status][1], st["value_en"])],
             [qr_drawing(verify_url, size=qr_size), _p("扫码核验 Scan to verify", ParagraphStyle(
                 "qr_caption", st["small"], alignment=1))]]]
    story.append(Table(head, colWidths=[width - qr_size - 6 * mm, qr_size + 6 * mm], style=TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "CENTER"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)])))
    story.append(Spacer(1, 5 * mm))

    rows = [[_label(f["zh"], f["en"], st), _value(rules.field_value(f), st)] for f in c.fields]
    issued_field = any(f["en"] == "Issued at" for f in c.fields)  # a certificate states its moment itself
    rows += [
        [_label("生效日期", "Valid from", st), _value(c.valid_from.isoformat(), st)],
        [_label("有效期至", "Valid until", st),
         _value(c.valid_until.isoformat() if c.valid_until else bi("长期", "No end date"), st)],
        *([] if issued_field else [[_label("核发时间", "Issued at", st), _value(_local(c.issued_at), st)]]),
        [_label("签名", "Signature", st), _value(f"{c.algorithm} / {c.key_id}", st)],
    ]
    story.append(Table(rows, colWidths=[52 * mm, width - 52 * mm], style=TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.HexColor("#333333")),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LEFTPADDING", (0, 0), (-1, -1), 2)])))
    story += [
        Spacer(1, 6 * mm),
        _p("文中时间均为北京时间（UTC+8）。All times are Beijing time (UTC+8).", st["small"]),
        Spacer(1, 2 * mm),
        _p("核验地址 Verification address:", st["small"]),
        _p(verify_url, st["url"]),
    ]
    generated = _local(clock.now())

    def footer(canvas, _doc) -> None:
        canvas.saveState()
        canvas.setStrokeColor(colors.HexColor("#999999"))
        canvas.line(20 * mm, 21 * mm, A4[0] - 20 * mm, 21 * mm)
        lines = (*FOOTER, (f"文件生成时间 Generated at {generated}", CJK_FONT))
        for i, (line, font) in enumerate(lines):
            canvas.setFont(font, 7.5)
            canvas.drawString(20 * mm, (17.5 - 3.6 * i) * mm, line)
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()



def credential_pdf_of_user(*, user, number: str, verify_url: Callable[[Credential], str],
                           compress: bool = True) -> tuple[Credential, bytes]:
    """The PDF of one of the holder's own credentials: anyone else's, a malformed or a missing number → 404 (as
    ``selectors.credential_of_user``); revoked, expired or altered → 409 ``credentials.not_printable``.
    ``verify_url`` makes the absolute verification address (the request's host, as the holder's page does)."""
    c = selectors.credential_of_user(user=user, number=number)
    return c, credential_pdf(credential=c, status=services.credential_status(c), verify_url=verify_url(c),
                             compress=compress)
