"""The demo city at small size: valid identifiers everywhere, consistent dates, edge cases, determinism."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count

from jiaoguan.core.identifiers import (
    id_number_birth_date,
    id_number_is_male,
    plate_kind,
    validate_id_number,
    validate_phone,
    validate_plate,
    validate_vin,
)
from jiaoguan.core.models import AuditEntry
from jiaoguan.demo.management.commands import demo_city as demo_command
from jiaoguan.registry import rules, selectors, services
from jiaoguan.registry.demo import SHOWCASE, generate_city
from jiaoguan.registry.models import DrivingLicence, InsurancePolicy, Person, Vehicle

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 21)


@pytest.fixture
def city(clock):
    clock.freeze(dt.datetime(2026, 11, 21, 9, 0))
    return generate_city(persons=400, seed=7)


def fingerprint() -> list:
    persons = sorted((p.id_number, p.name, p.phone, p.address) for p in Person.objects.all())
    licences = sorted(DrivingLicence.objects.values_list(
        "person__id_number_hash", "file_number", "classes", "first_issue_date", "valid_until", "status",
        "cycle_points"))
    vehicles = sorted(Vehicle.objects.values_list("plate", "plate_type", "vin", "brand", "registration_date",
                                                  "inspection_due", "owner__id_number_hash"))
    policies = sorted(InsurancePolicy.objects.values_list("policy_number", "vehicle__vin", "starts_on", "ends_on"))
    return [persons, licences, vehicles, policies]


def wipe() -> None:
    InsurancePolicy.objects.all().delete()
    Vehicle.objects.all().delete()
    DrivingLicence.objects.all().delete()
    Person.objects.all().delete()


def reachable_periods(first_issue: dt.date, until: dt.date) -> set[tuple[dt.date, str]]:
    todo, seen = [(first_issue, "6y")], set()
    while todo:
        start, validity = todo.pop()
        if (start, validity) in seen or start > until:
            continue
        seen.add((start, validity))
        end = rules.validity_until(start, validity)
        if end is not None:
            for full in (True, False):
                todo.append((end, rules.validity_after_renewal(validity, full_score_in_period=full)))
    return seen


def test_counts_and_shares(city):
    assert city.persons == Person.objects.count() == 400
    assert city.licences == DrivingLicence.objects.count()
    assert city.vehicles == Vehicle.objects.count() and city.policies == InsurancePolicy.objects.count()
    assert 0.60 <= city.licences / city.persons <= 0.80
    owners = Vehicle.objects.values("owner").distinct().count()
    assert 0.50 <= owners / city.persons <= 0.70
    assert Vehicle.objects.values("owner").annotate(n=Count("id")).filter(n__gte=2).exists()
    assert city.persons_per_second > 0 and city.today == TODAY
    [row] = AuditEntry.objects.filter(action="registry.demo_city")
    assert row.new["persons"] == 400


def test_every_identifier_is_valid_and_unique(city):
    persons = list(Person.objects.all())
    assert len({p.id_number for p in persons}) == len(persons)
    assert len({p.phone for p in persons}) == len(persons)
    for p in persons:
        assert validate_id_number(p.id_number) == p.id_number
        assert p.id_number[:6] in {f"4403{n:02d}" for n in range(3, 12)}
        assert validate_phone(p.phone) == p.phone
        assert id_number_birth_date(p.id_number) == p.birth_date
        assert (p.gender == "M") == id_number_is_male(p.id_number)
        assert 18 <= rules.age_on(p.birth_date, TODAY) <= 80
        assert p.address.startswith("广东省深圳市") and len(p.name) >= 2
    for v in Vehicle.objects.all():
        assert validate_vin(v.vin) == v.vin
        assert validate_plate(v.plate) == v.plate and v.plate.startswith("粤B")
        services.check_plate_type(v.plate, v.plate_type)
        if v.plate_type == Vehicle.PlateType.NEV_SMALL:
            assert plate_kind(v.plate) == "nev_small"
    assert Vehicle.objects.filter(plate_type=Vehicle.PlateType.NEV_SMALL).exists()


def test_licence_dates_are_consistent(city):
    for lic in DrivingLicence.objects.select_related("person"):
        birth = lic.person.birth_date
        classes = rules.parse_classes(lic.classes)
        for code in classes:
            age = rules.age_on(birth, lic.first_issue_date)
            assert rules.age_allows(code, age), (lic.classes, birth, lic.first_issue_date)
        assert lic.first_issue_date <= TODAY and lic.first_issue_date <= lic.valid_from
        assert lic.valid_until == rules.validity_until(lic.valid_from, lic.validity)
        assert lic.probation_until == rules.probation_end(lic.first_issue_date)
        # renewals from the first issue (6y, then the same or the next step each time) reach the current period
        assert (lic.valid_from, lic.validity) in reachable_periods(lic.first_issue_date, lic.valid_from)
        if lic.status != "suspended":
            assert lic.status == rules.effective_status(stored="valid", valid_until=lic.valid_until, on=TODAY)
        else:
            assert lic.cycle_points == 12
        # the points are this cycle's; a demo lapse is a cancellation for not renewing (restorable)
        assert lic.points_cycle_start == rules.scoring_cycle(lic.first_issue_date, TODAY)[0]
        assert lic.status_reason == ("expiry_over_1_year" if lic.status == "cancelled" else "")


def test_vehicle_dates_and_policies_are_consistent(city):
    rule_rows = selectors.inspection_rules()
    for v in Vehicle.objects.select_related("owner"):
        assert v.registration_date <= TODAY
        assert rules.age_on(v.owner.birth_date, v.registration_date) >= 18
        point = rules.inspection_point_on(registration_date=v.registration_date, kind=v.kind, use=v.use,
                                          rules=rule_rows, due=v.inspection_due)
        assert point is not None and point.due == v.inspection_due  # a real point of the schedule
        if v.last_inspection_date:
            assert v.registration_date <= v.last_inspection_date < v.inspection_due
        periods = sorted(v.policies.values_list("starts_on", "ends_on"))
        for start, end in periods:
            assert start <= end <= rules.add_years(start, 1)
        assert all(a[1] < b[0] for a, b in zip(periods, periods[1:]))


def test_showcase_people_are_fixed_and_in_their_situation(city):
    assert set(city.showcase) == {s.key for s in SHOWCASE}
    by_key = {s.key: s for s in SHOWCASE}
    for key, person in city.showcase.items():
        person.refresh_from_db()
        assert person.id_number == by_key[key].id_number and person.name == by_key[key].name
        assert person.phone == by_key[key].phone and validate_id_number(person.id_number)

    def licence(key):
        return selectors.licence_summary(licence=selectors.licence_for_person(person=city.showcase[key]))

    def vehicles(key):
        return selectors.vehicle_summaries(vehicles=selectors.vehicles_owned_by(person=city.showcase[key]))

    citizen = licence("citizen")
    assert citizen.status == "valid" and not citizen.in_probation and citizen.class_codes == "C1"
    cars = vehicles("citizen")
    assert len(cars) == 2 and sum(v.is_new_energy for v in cars) == 1
    assert all(v.inspection_status == "ok" and v.insurance_status == "valid" for v in cars)
    assert city.showcase["citizen"].phone == "13800138000"
    [rel] = vehicles("relative")
    assert rel.kind == "small_car" and rel.use == "private" and rel.plate_type == "02"
    assert city.showcase["relative"].phone == "13900139000"
    assert city.showcase["newcomer"].phone == "13700137000" and len(vehicles("newcomer")) == 1
    assert licence("newcomer").status == "valid"
    assert licence("probation").in_probation and licence("probation").status == "valid"
    assert licence("expired").status == "expired"
    assert licence("suspended").status == "suspended" and licence("suspended").points == 12
    [overdue] = vehicles("overdue")
    assert overdue.inspection_status == "overdue" and overdue.insurance_status == "valid"
    [uninsured] = vehicles("uninsured")
    assert uninsured.insurance_status in ("expired", "none") and not uninsured.insured
    rows = city.showcase_rows()
    assert rows[0]["key"] == "citizen" and rows[0]["plates"] == ["粤BD12345", "粤BA7M29"]


def test_random_edge_cases_are_present(clock):
    clock.freeze(dt.datetime(2026, 11, 21, 9, 0))
    city = generate_city(persons=1500, seed=11)
    edge = city.edge_cases
    for key in ("licence_cancelled", "licence_in_probation", "vehicle_inspection_overdue", "vehicle_uninsured",
                "vehicle_new_energy", "owners_of_2_or_more"):
        assert edge[key] > 0, key
    assert edge["licence_suspended"] >= 1 and edge["licence_expired"] >= 1  # the showcase ones at least
    assert DrivingLicence.objects.filter(status="expired").count() == edge["licence_expired"]
    assert DrivingLicence.objects.exclude(classes__in=["C1", "C2"]).exists()


def test_deterministic_per_seed(clock):
    clock.freeze(dt.datetime(2026, 11, 21, 9, 0))
    generate_city(persons=150, seed=3)
    first = fingerprint()
    wipe()
    generate_city(persons=150, seed=3)
    assert fingerprint() == first
    wipe()
    generate_city(persons=150, seed=4)
    other = fingerprint()
    assert other[0] != first[0]
    # the showcase people are the same whatever the seed
    showcase_ids = {s.id_number for s in SHOWCASE}
    assert showcase_ids <= {p[0] for p in first[0]} and showcase_ids <= {p[0] for p in other[0]}


def test_a_second_run_adds_without_collisions(city):
    again = generate_city(persons=200, seed=7)
    assert again.persons == 200 and Person.objects.count() == 600
    assert again.showcase["citizen"].pk == city.showcase["citizen"].pk
    assert Vehicle.objects.values("vin").distinct().count() == Vehicle.objects.count()
    assert DrivingLicence.objects.values("file_number").distinct().count() == DrivingLicence.objects.count()


def test_command_prints_showcase_and_accounts(clock, monkeypatch):
    clock.freeze(dt.datetime(2026, 11, 21, 9, 0))
    calls = []

    def create_demo_accounts(*, city):
        calls.append(city)
        return [("citizen", "13800138000", "Demo-2026!", "李建华")]

    monkeypatch.setattr(demo_command, "create_demo_accounts", create_demo_accounts)
    out = io.StringIO()
    call_command(demo_command.Command(), persons=60, seed=5, stdout=out)
    text = out.getvalue()
    assert Person.objects.count() == 60
    for spec in SHOWCASE:
        assert spec.name in text and spec.id_number in text and spec.phone in text
    assert "粤B·D12345" in text and "Demo-2026!" in text
    assert len(calls) == 1 and calls[0].showcase["citizen"].name == "李建华"

    out = io.StringIO()
    call_command(demo_command.Command(), persons=60, if_empty=True, stdout=out)
    assert "skipped" in out.getvalue() and Person.objects.count() == 60 and len(calls) == 1


def test_command_creates_the_demo_logins(clock):
    clock.freeze(dt.datetime(2026, 11, 21, 9, 0))
    out = io.StringIO()
    call_command(demo_command.Command(), persons=10, stdout=out, verbosity=0)
    text = out.getvalue()
    assert "13800138000" in text and "clerk01" in text and "auditor01" in text
    assert Person.objects.count() == len(SHOWCASE)  # fewer persons asked for than the showcase: the showcase only


def test_command_refuses_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command(demo_command.Command(), persons=10, stdout=io.StringIO())
    assert Person.objects.count() == 0


def test_docs_name_the_showcase_people_as_they_are():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "registry-import.md").read_text(encoding="utf-8")
    for spec in SHOWCASE:
        row = f"| {spec.key} | {spec.name} | {spec.id_number} | {spec.phone} |"
        assert row in doc, row
        for v in spec.vehicles:
            assert f"{v.plate[:2]}·{v.plate[2:]}" in doc


def test_docs_examples_are_valid_identifiers():
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "registry-import.md").read_text(encoding="utf-8")
    numbers = set(re.findall(r"\b4403\d{13}[\dX]\b", doc))
    vins = set(re.findall(r"\bL[0-9A-HJ-NPR-Z]{16}\b", doc))
    assert len(numbers) >= 10 and len(vins) >= 2
    for n in numbers:
        validate_id_number(n)
    for v in vins:
        validate_vin(v)


def test_new_energy_models_carry_green_plates(city):
    """A Tesla is a new-energy vehicle: its 号牌种类 is 52 (small new-energy), never 02 (the blue plate), and its
    number has the new-energy format; the same for every demo EV, showcase or generated."""
    from jiaoguan.core.identifiers import is_new_energy_plate
    from jiaoguan.registry.demo import NEV_MODELS

    nev_types = {Vehicle.PlateType.NEV_SMALL, Vehicle.PlateType.NEV_LARGE}
    for spec in SHOWCASE:
        for v in spec.vehicles:
            assert (v.plate_type in nev_types) == (v.brand in NEV_MODELS), (spec.key, v.brand)
            assert is_new_energy_plate(plate=v.plate) == (v.plate_type in nev_types), v.plate
    for plate, plate_type, brand, use in Vehicle.objects.values_list("plate", "plate_type", "brand", "use"):
        if use == Vehicle.Use.LEARNER:
            continue  # learner cars carry the 学 plate
        assert (plate_type in nev_types) == (brand in NEV_MODELS), (plate, brand)
        assert is_new_energy_plate(plate=plate) == (plate_type in nev_types), plate
