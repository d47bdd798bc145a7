"""Every Chinese string a page or a view marks for translation has its English in some app's en .po (an English
page never shows a Chinese fragment because an entry was forgotten), and the strings the last changes added read
in English on their pages: the first-violation waiver, the application entry check, the ineligible page."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.portal.support import EN, text
from tests.portal.test_violation_pages import camera, device, owner, url  # noqa: F401 - fixtures
from tests.violations.conftest import _codes, _media, record  # noqa: F401 - autouse fixtures

SRC = Path(__file__).resolve().parents[2] / "src" / "jiaoguan"
KEYWORDS = {"_": None, "gettext": None, "gettext_lazy": None, "ngettext": (1, 2), "ngettext_lazy": (1, 2),
            "pgettext": ((1, "c"), 2), "pgettext_lazy": ((1, "c"), 2)}


def _cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


def _english() -> set[tuple[str | None, str]]:
    from babel.messages.pofile import read_po

    out = set()
    for po in SRC.glob("*/locale/en/LC_MESSAGES/django.po"):
        with po.open("rb") as f:
            for m in read_po(f):
                mid = m.id if isinstance(m.id, str) else m.id[0]
                ms = m.string if isinstance(m.string, str) else (m.string[0] if m.string else "")
                if mid and ms and not m.fuzzy:
                    out.add((m.context, mid))
    return out


def _used():
    """(context, msgid, where) of every gettext call in src and every {% translate %} / {% blocktranslate %}
    in its templates (through Django's own templatize, as makemessages reads them)."""
    from babel.messages.extract import extract_python
    from django.utils.translation.template import templatize

    for path in sorted(SRC.rglob("*")):
        if "migrations" in path.parts:
            continue
        if path.suffix == ".html":
            code = "\n".join(line.lstrip() for line in templatize(path.read_text(), origin=str(path)).splitlines())
            fileobj = io.BytesIO(code.encode())
        elif path.suffix == ".py":
            fileobj = path.open("rb")
        else:
            continue
        with fileobj:
            for lineno, func, messages, _c in extract_python(fileobj, list(KEYWORDS), [], {}):
                if isinstance(messages, str):
                    ctx, mid = None, messages
                elif func.startswith("pgettext"):
                    ctx, mid = messages[0], messages[1]
                else:
                    ctx, mid = None, messages[0]
                if mid and _cjk(mid):
                    yield ctx, mid, f"{path.relative_to(SRC)}:{lineno}"


def test_every_chinese_page_string_has_its_english():
    english = _english()
    missing = sorted({f"{where}: {mid}" for ctx, mid, where in _used() if (ctx, mid) not in english})
    assert not missing, "no English entry in any src/jiaoguan/*/locale/en/LC_MESSAGES/django.po:\n" + "\n".join(missing)


@pytest.mark.django_db
def test_waiver_texts_in_english(client, owner, device):  # noqa: F811
    _user, car = owner
    v = camera(car, device, code="1625")
    body = text(client.get(url(v), **EN))
    assert "The first-violation waiver cannot be requested for this violation:" in body
    assert "不能申请首违免罚" not in body


@pytest.mark.django_db
def test_application_entry_texts_in_english(client):
    from tests.applications.services.support import hospital_check
    from tests.applications.support import citizen
    from tests.factories import make_licence

    user = citizen(licence=False)
    make_licence(person=user.person, valid_until=None)
    hospital_check(user.person)
    client.force_login(user)
    guide = text(client.get("/services/licence_renewal/", **EN))
    assert "Not open to you now:" in guide and "暂不能申请" not in guide
    refused = text(client.get("/services/licence_renewal/apply/?kind=renew", **EN))
    assert "You cannot apply for" in refused and "Why:" in refused and "There is no form to fill in" in refused
    assert "您目前不能申请" not in refused and "无需填写申请表" not in refused
    form = text(client.get("/services/licence_renewal/apply/?kind=replace_lost", **EN))
    assert "You cannot apply for these kinds at present:" in form
