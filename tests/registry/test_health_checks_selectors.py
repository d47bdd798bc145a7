"""health_check_valid_for / health_checks_for: the 6-month window, the newest record decides, stricter classes."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.registry import health
from jiaoguan.registry.models import HealthCheck
from tests.factories import make_person
from tests.registry.health_support import make_hospital

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def hospital():
    return make_hospital()


@pytest.fixture
def person():
    return make_person(name="王建国")


def receive(hospital, person, number, examined_on, **kw):
    values = {"result": "fit", "vision_left": "5.0", "vision_right": "5.0", "colour_vision_normal": True,
              "hearing_normal": True, "limbs_normal": True, **kw}
    received = health.health_check_receive(hospital=hospital, record_number=number, id_number=person.id_number,
                                           name=person.name, examined_on=examined_on, **values)
    assert received.created
    return received.health_check


@pytest.mark.parametrize("examined,valid_until", [
    (D(2026, 5, 20), D(2026, 11, 19)),
    (D(2026, 8, 31), D(2027, 2, 27)),   # 28 February is the same day six months on: valid the day before
    (D(2025, 12, 1), D(2026, 5, 31)),
])
def test_valid_for_six_months_from_the_examination(examined, valid_until):
    assert health.valid_until_for(examined) == valid_until


def test_validity_months_are_configurable(settings):
    settings.JIAOGUAN_HEALTH_CHECKS = {"VALID_MONTHS": 3}
    assert health.valid_until_for(D(2026, 5, 20)) == D(2026, 8, 19)


def test_window(clock, hospital, person):
    clock.freeze(dt.datetime(2026, 11, 21, 10, 0))
    hc = receive(hospital, person, "A", D(2026, 6, 1))
    assert hc.valid_until == D(2026, 11, 30)
    assert health.health_check_valid_for(person=person, on=D(2026, 5, 31)) is None  # before the examination
    assert health.health_check_valid_for(person=person, on=D(2026, 6, 1)) == hc
    assert health.health_check_valid_for(person=person, on=D(2026, 11, 30)) == hc  # last day
    assert health.health_check_valid_for(person=person, on=D(2026, 12, 1)) is None
    assert health.health_check_valid_for(person=make_person(), on=D(2026, 7, 1)) is None


def test_newest_record_decides(clock, hospital, person):
    clock.freeze(dt.datetime(2026, 11, 21, 10, 0))
    other = make_hospital(name="深圳市第二人民医院", code="X2")
    fit = receive(hospital, person, "A", D(2026, 8, 1))
    unfit = receive(other, person, "B", D(2026, 10, 1), result="unfit")
    assert health.health_check_valid_for(person=person, on=D(2026, 9, 1)) == fit
    # a later unfit finding overrides the earlier fit one
    assert health.health_check_valid_for(person=person, on=D(2026, 10, 1)) is None
    again = receive(hospital, person, "C", D(2026, 11, 1), result="fit_with_conditions", conditions="驾车时须戴眼镜")
    assert health.health_check_valid_for(person=person, on=D(2026, 11, 20)) == again
    assert [h.record_number for h in health.health_checks_for(person=person)] == ["C", "B", "A"]
    assert unfit in health.health_checks_for(person=person)


def test_colour_blindness_is_never_fit(clock, hospital, person):
    clock.freeze(dt.datetime(2026, 11, 21, 10, 0))
    receive(hospital, person, "A", D(2026, 11, 1), colour_vision_normal=False)
    assert health.health_check_valid_for(person=person, on=D(2026, 11, 21)) is None


@pytest.mark.parametrize("values,classes,ok", [
    ({}, "A1", True),
    ({}, "C1", True),
    ({"vision_left": "4.9"}, "C1", True),
    ({"vision_left": "4.9"}, "A2", False),
    ({"vision_right": "4.9"}, "B2 C1", False),
    ({"vision_right": "4.9"}, "N", False),
    ({"hearing_normal": False, "result": "fit_with_conditions", "conditions": "佩戴助听器"}, "C1", True),
    ({"hearing_normal": False, "result": "fit_with_conditions", "conditions": "佩戴助听器"}, "B1", False),
    ({"limbs_normal": False, "result": "fit_with_conditions", "conditions": "左下肢缺失，限C5"}, "C5", True),
    ({"limbs_normal": False, "result": "fit_with_conditions", "conditions": "左下肢缺失，限C5"}, "A3", False),
    ({"result": "unfit"}, "C1", False),
    ({"result": "unfit"}, None, False),
])
def test_stricter_classes(clock, hospital, person, values, classes, ok):
    clock.freeze(dt.datetime(2026, 11, 21, 10, 0))
    hc = receive(hospital, person, "A", D(2026, 11, 1), **values)
    found = health.health_check_valid_for(person=person, on=D(2026, 11, 21), licence_classes=classes)
    assert (found == hc) if ok else found is None


def test_strict_classes_are_configurable(clock, hospital, person, settings):
    clock.freeze(dt.datetime(2026, 11, 21, 10, 0))
    receive(hospital, person, "A", D(2026, 11, 1), vision_left="4.9")
    settings.JIAOGUAN_HEALTH_CHECKS = {"STRICT_CLASSES": ("A1", "C1")}
    assert health.health_check_valid_for(person=person, on=D(2026, 11, 21), licence_classes="C1") is None


def test_unknown_class_is_a_programming_error(hospital, person):
    with pytest.raises(ValueError):
        health.health_check_valid_for(person=person, on=D(2026, 11, 21), licence_classes="Z9")


def test_record_of_a_non_hospital_partner_is_refused(person):
    from jiaoguan.core.errors import InvalidInput
    from jiaoguan.registry.models import Partner

    p = make_hospital(code="X3")
    Partner.objects.filter(pk=p.pk).update(kind="insurer")
    p.refresh_from_db()
    with pytest.raises(InvalidInput):
        receive(p, person, "A", D(2026, 11, 1))
    assert HealthCheck.objects.count() == 0
