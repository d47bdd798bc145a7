"""The own_vehicle field type: a service names "one of the applicant's own vehicles" (optionally of some registry
kinds); the engine accepts only the plate of such a vehicle and refuses any other beside the field, in Chinese and
English. The catalogue refuses a declaration that gets the type wrong."""
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.applications import rules
from jiaoguan.applications.catalogue import CatalogueError, FieldSpec, Text, catalogue_load
from jiaoguan.core import clock
from jiaoguan.core.errors import InvalidInput

TRUCKS_ONLY = FieldSpec(name="plate", type="own_vehicle", label=Text("号牌号码", "Plate number"), kinds=("truck",))
ANY_KIND = FieldSpec(name="plate", type="own_vehicle", label=Text("号牌号码", "Plate number"))
SAMPLE = (Path(__file__).parent / "catalogue" / "sample.toml").read_text(encoding="utf-8")  # the test services live beside the tests
KINDS = ("small_car", "bus", "truck", "trailer", "motorcycle")

# plates of the common pattern: province, office letter, five of digits and letters without I and O
plates = st.builds(lambda p, o, rest: p + o + rest, st.sampled_from("粤湘京沪"), st.sampled_from("ABCDE"),
                   st.text(alphabet="0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=5, max_size=5)
                   .filter(lambda s: sum(c.isalpha() for c in s) <= 2))


def v(plate: str, kind: str = "truck"):
    return SimpleNamespace(plate=plate, kind=kind)


def test_a_plate_of_the_applicants_own_truck_is_accepted():
    assert rules.own_vehicle_plate(TRUCKS_ONLY, " 粤bh8m36 ", [v("粤BH8M36")]) == "粤BH8M36"


def test_a_plate_not_the_applicants_is_refused_beside_the_field():
    with pytest.raises(InvalidInput) as e:
        rules.own_vehicle_plate(TRUCKS_ONLY, "粤BH8M37", [v("粤BH8M36")])
    assert e.value.code == "applications.not_own_vehicle" and e.value.field == "plate"
    assert e.value.fields["plate"] == ("申请人名下没有号牌为粤BH8M37的机动车，请从列表中选择",
                                       "No vehicle with plate 粤BH8M37 is registered to the applicant; choose one "
                                       "from the list")


def test_an_own_vehicle_of_another_kind_is_refused_naming_the_kinds():
    with pytest.raises(InvalidInput) as e:
        rules.own_vehicle_plate(TRUCKS_ONLY, "粤BA1234", [v("粤BA1234", "small_car")])
    assert e.value.code == "applications.vehicle_kind"
    assert e.value.fields["plate"] == ("粤BA1234不能办理本事项：须为载货汽车",
                                       "粤BA1234 cannot be used for this service: it must be a truck")


def test_a_malformed_plate_is_refused_as_malformed():
    with pytest.raises(InvalidInput) as e:
        rules.own_vehicle_plate(ANY_KIND, "12345", [v("粤BA1234")])
    assert e.value.field == "plate" and "省份简称" in e.value.zh


@given(owned=st.lists(st.tuples(plates, st.sampled_from(KINDS)), max_size=6), asked=plates,
       accepted=st.sets(st.sampled_from(KINDS), max_size=3))
def test_accepted_exactly_when_an_own_vehicle_of_an_accepted_kind_carries_the_plate(owned, asked, accepted):
    spec = FieldSpec(name="plate", type="own_vehicle", label=Text("号牌", "Plate"), kinds=tuple(sorted(accepted)))
    vehicles = [v(p, k) for p, k in owned]
    expected = any(p == asked and (not accepted or k in accepted) for p, k in owned)
    offered = rules.eligible_vehicles(spec, vehicles)
    assert (asked in {x.plate for x in offered}) == expected  # the list offers exactly what is accepted
    try:
        assert rules.own_vehicle_plate(spec, asked, vehicles) == asked
        assert expected
    except InvalidInput as e:
        assert not expected and set(e.fields) == {"plate"} and all(e.fields["plate"])


def test_form_clean_checks_an_own_vehicle_field_against_the_vehicles_given():
    spec = TRUCKS_ONLY
    service = SimpleNamespace(fields=(spec,), field=lambda name: spec if name == "plate" else None)
    today = clock.today()
    cleaned, errors = rules.form_clean(service, {"plate": "粤BH8M36"}, today=today, vehicles=[v("粤BH8M36")])
    assert cleaned == {"plate": "粤BH8M36"} and errors == {}
    cleaned, errors = rules.form_clean(service, {"plate": "粤BH8M36"}, today=today)  # owns nothing
    assert cleaned == {} and errors["plate"][0].startswith("申请人名下没有号牌为粤BH8M36的机动车")
    _cleaned, errors = rules.form_clean(service, {"plate": ""}, today=today, vehicles=[v("粤BH8M36")])
    assert errors == {"plate": ("此项必填", "This field is required")}


def _problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "broken.toml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError) as e:
        catalogue_load(tmp_path)
    return e.value.problems


def test_the_catalogue_knows_the_type_and_its_kinds(tmp_path):
    text = SAMPLE.replace('type = "plate"', 'type = "own_vehicle"\nkinds = ["truck", "trailer"]', 1)
    (tmp_path / "ok.toml").write_text(text, encoding="utf-8")
    spec = catalogue_load(tmp_path).get("sample").field("plate")
    assert spec.type == "own_vehicle" and spec.kinds == ("truck", "trailer")


def test_the_catalogue_refuses_unknown_kinds_and_kinds_on_other_types(tmp_path):
    problems = _problems(tmp_path, SAMPLE.replace('type = "plate"', 'type = "own_vehicle"\nkinds = ["lorry"]', 1))
    assert any("form.fields[0].kinds: unknown vehicle kind 'lorry'" in p for p in problems), problems
    problems = _problems(tmp_path, SAMPLE.replace('type = "plate"', 'type = "plate"\nkinds = ["truck"]', 1))
    assert any("form.fields[0].kinds: only an own_vehicle field takes vehicle kinds" in p for p in problems), problems


def test_the_truck_pass_plate_is_one_of_the_applicants_trucks():
    from jiaoguan.applications.catalogue import catalogue

    spec = catalogue().get("truck_pass").field("plate")
    assert spec.type == "own_vehicle" and spec.kinds == ("truck",)
