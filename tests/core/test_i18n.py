"""The one bilingual-label idiom (core.i18n): pairs that render in the active language."""
from __future__ import annotations

import io
import pickle
import re
from pathlib import Path

import pytest
from django import forms
from django.core.management import call_command
from django.template import Context, Template
from django.utils import translation

from jiaoguan.core.i18n import Bi, bi, choice_label, pair, text, zh_en
from jiaoguan.registry.models import Vehicle

SRC = Path(__file__).resolve().parents[2] / "src" / "jiaoguan"


def render(source: str, **context) -> str:
    return Template("{% load jiaoguan %}" + source).render(Context(context))


def test_a_pair_renders_in_the_active_language():
    label = bi("小型汽车", "Small car")
    with translation.override("zh-hans"):
        assert str(label) == "小型汽车" and f"{label}" == "小型汽车" and render("{{ v }}", v=label) == "小型汽车"
    with translation.override("en"):  # "%s" % pair: what it checks
        assert str(label) == "Small car" and "%s" % label == "Small car" and render("{{ v }}", v=label) == "Small car"  # noqa: UP031
    translation.deactivate_all()  # what makemigrations runs with: the Chinese text
    assert str(label) == "小型汽车"
    assert label.pick("en") == "Small car" and label.pick("zh-hans") == "小型汽车" and label.pick(None) in (
        "小型汽车", "Small car")
    assert pickle.loads(pickle.dumps(label)) == label and repr(label) == "bi('小型汽车', 'Small car')"
    assert bi("单语", "").en == "单语"  # no English given: the Chinese serves both


def test_choice_labels_work_as_django_expects():
    car = Vehicle(plate="粤B12345", plate_type=Vehicle.PlateType.SMALL)
    with translation.override("en"):
        assert car.get_plate_type_display() == "Small car"
        field = forms.ChoiceField(choices=Vehicle.PlateType.choices)
        assert '<option value="02">Small car</option>' in str(field.widget.render("t", ""))
    with translation.override("zh-hans"):
        assert car.get_plate_type_display() == "小型汽车"
    assert Vehicle.PlateType.SMALL.label == bi("小型汽车", "Small car")
    assert choice_label(Vehicle.PlateType, "02") == bi("小型汽车", "Small car")
    assert choice_label(Vehicle.PlateType, "zz") == "zz"


def test_the_filter_takes_pairs_in_other_shapes():
    class Summary:
        plate_type_zh, plate_type_en = "小型汽车", "Small car"

    with translation.override("en"):
        assert render('{{ s|bi:"plate_type" }}', s=Summary()) == "Small car"
        assert render("{{ p|bi }}", p=("已投递", "Delivered")) == "Delivered"
        assert render("{{ p|bi }}", p={"zh": "已投递", "en": "Delivered"}) == "Delivered"
        assert render("{{ p|bi }}", p="粤B12345") == "粤B12345"
    assert zh_en(("甲", "A")) == ("甲", "A") and zh_en("粤B12345") == ("粤B12345", "粤B12345")
    assert text(pair(("甲", "A")), "en") == "A" and isinstance(pair(("甲", "A")), Bi)


def test_no_choice_label_is_written_zh_space_en():
    """A label like "小型汽车 Small car" in a models.py is the old idiom: it shows both languages at once."""
    old = re.compile(r'^\s+[A-Z_0-9]+ = [^#\n]*, "[^"]*[\u4e00-\u9fff][^"]*\s[A-Za-z][^"]*"\s*$', re.M)
    offenders = [f"{p.relative_to(SRC)}: {m.group(0).strip()}" for p in SRC.glob("*/models.py")
                 for m in old.finditer(p.read_text())]
    offenders += [f"{p.relative_to(SRC)}: {m.group(0).strip()}" for p in SRC.glob("*/roles.py")
                  for m in old.finditer(p.read_text())]
    assert not offenders, "\n".join(offenders)


def test_no_label_is_split_at_run_time():
    splits = re.compile(r'label\)?\.(?:split|partition)\(|_display\(\)\.(?:split|partition)\(|\blang_pick\b')
    offenders = [f"{p.relative_to(SRC)}:{n}" for p in SRC.rglob("*.py") if "migrations" not in p.parts
                 for n, line in enumerate(p.read_text().splitlines(), 1) if splits.search(line)]
    offenders += [f"{p.relative_to(SRC)}" for p in SRC.rglob("*.html") if "lang_pick" in p.read_text()]
    assert not offenders, offenders


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_migrations_record_the_labels_whatever_the_language(language, settings):
    """Django records choices in migrations; a pair is recorded once (its Chinese text), so makemigrations finds
    nothing to do whichever language the developer's settings or shell are in."""
    settings.LANGUAGE_CODE = language
    with translation.override(language):
        out = io.StringIO()
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
