"""The Shenzhen-size build of the demo city (``generate_city(workers=n)``, ``demo_city --workers n``): forked
writers with disjoint shares of every identifier space, rows by COPY. PostgreSQL only (the workers commit on their
own connections, so the test database is really written and emptied afterwards)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Count

from jiaoguan.core.identifiers import validate_id_number, validate_plate, validate_vin
from jiaoguan.registry import services
from jiaoguan.registry.demo import SHOWCASE, generate_city
from jiaoguan.registry.models import DrivingLicence, InsurancePolicy, Person, Vehicle
from jiaoguan.violations.models import PointsAccount, PointsEntry

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_two_workers_write_one_consistent_city(clock):
    clock.freeze(dt.datetime(2026, 11, 21, 9, 0))
    city = generate_city(persons=600, seed=11, workers=2)
    assert city.persons == Person.objects.count() == 600
    assert city.licences == DrivingLicence.objects.count() > 300
    assert city.vehicles == Vehicle.objects.count() > 300
    assert city.policies == InsurancePolicy.objects.count()
    assert {s.key for s in SHOWCASE} == set(city.showcase)
    # every identifier valid and unique across the two workers' shares
    for column in ("id_number_hash", "phone_hash"):
        assert not Person.objects.values(column).annotate(n=Count("pk")).filter(n__gt=1).exists()
    plates = list(Vehicle.objects.values_list("plate", "plate_type", "vin"))
    assert len({p for p, _t, _v in plates}) == len({v for _p, _t, v in plates}) == len(plates)
    for plate, plate_type, vin in plates:
        assert validate_plate(plate) == plate and validate_vin(vin) == vin
        services.check_plate_type(plate, plate_type)
    assert all(validate_id_number(p.id_number) == p.id_number for p in Person.objects.all())
    files = list(DrivingLicence.objects.values_list("file_number", flat=True))
    assert len(set(files)) == len(files)
    # the encrypted fields read back (COPY wrote what Django would have written)
    showcase = city.showcase["citizen"]
    assert Person.objects.get(pk=showcase.pk).name == showcase.name
    # every licence with points on its card has them as its opening balance in the ledger
    with_points = DrivingLicence.objects.exclude(cycle_points=0)
    assert with_points.exists()
    opened = dict(PointsAccount.objects.filter(licence__in=with_points).values_list("licence_id", "total"))
    assert opened == dict(with_points.values_list("pk", "cycle_points"))
    # ... and one more: the "trucker" showcase driver's points of the last cycle (a review is owed), none on the card
    trucker = DrivingLicence.objects.get(person=city.showcase["trucker"])
    assert trucker.cycle_points == 0
    assert PointsEntry.objects.filter(kind="opening").exclude(account__licence=trucker).count() == len(opened)
    assert PointsEntry.objects.filter(kind="opening", account__licence=trucker).count() == 1
    assert sum(city.edge_cases.values()) > 0
