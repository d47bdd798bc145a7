"""`make run` runs `demo_city --if-empty`: a run that fails or is interrupted part-way must not leave a half city
that the next run skips; the next run resumes it. Every run ends with the demo logins and what to try, read from
the database (also when the city already exists), with the relative's VIN and the enterprise's truck plate, and
no signing secret."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from jiaoguan.demo.management.commands import demo_city as demo_command
from jiaoguan.demo.models import DemoCityRun
from jiaoguan.registry.demo import SHOWCASE
from jiaoguan.registry.models import Person, Vehicle
from jiaoguan.violations.models import Violation

pytestmark = pytest.mark.django_db
PERSONS = 30
NEWCOMER = next(s for s in SHOWCASE if s.key == "newcomer")


@pytest.fixture(autouse=True)
def _daytime(clock, settings, tmp_path):
    # a daytime clock: the 00:00–08:00 date bug of applications.demo is another fix's (tests/demo/…_any_hour.py)
    clock.freeze(dt.datetime(2026, 11, 21, 10, 0, tzinfo=timezone.get_fixed_timezone(480)))
    settings.MEDIA_ROOT = str(tmp_path / "media")


def run(tmp_path, **kw) -> str:
    out = io.StringIO()
    call_command(demo_command.Command(), persons=PERSONS, if_empty=True, details=str(tmp_path / "details.log"),
                 stdout=out, **kw)
    return out.getvalue()


def secrets_in(details: str) -> list[str]:
    return re.findall(r"secret (\S+) \(shown once\)", details)


def assert_summary(text: str) -> None:
    relative_car = Vehicle.objects.get(plate="粤BR5628")
    truck = Vehicle.objects.get(kind="truck", owner_uscc__isnull=False, owner__isnull=True)
    for expected in ("13800138000", "13000130000", "15900159000", "demo_logistics", "clerk01", "reviewer01",
                     "approver01",
                     "auditor01", "admin01", "Jiaoguan@2026", relative_car.vin, "粤B·R5628",
                     f"{truck.plate[:2]}·{truck.plate[2:]}", NEWCOMER.id_number, NEWCOMER.name,
                     "/me/violations/", "滞纳金 late fee", "首违免罚", "罚款超过200元"):
        assert expected in text, expected
    assert "未创建 not created" not in text


@pytest.mark.parametrize("step, failure", [("bookings", KeyboardInterrupt), ("violations", RuntimeError)])
def test_a_failed_run_is_resumed_by_the_next(tmp_path, monkeypatch, step, failure):
    method = getattr(demo_command.Command, step)

    def broken(self, *args, **kwargs):
        raise failure("injected")

    monkeypatch.setattr(demo_command.Command, step, broken)
    with pytest.raises(CommandError if failure is RuntimeError else failure):
        run(tmp_path)
    persons = Person.objects.count()
    assert persons == PERSONS
    [first] = DemoCityRun.objects.all()
    assert first.completed_at is None and "injected" in first.error
    assert first.step == {"bookings": "accounts", "violations": "applications"}[step]

    monkeypatch.setattr(demo_command.Command, step, method)
    text = run(tmp_path)
    assert "Resuming the unfinished demo city" in text and "skipped" not in text
    assert Person.objects.count() == persons  # the population is not generated twice
    [first] = DemoCityRun.objects.all()
    assert first.completed_at is not None and first.error == "" and first.step == "violations"
    assert Violation.objects.count() == 6  # five camera records and the detained driver's on-site one
    assert_summary(text)


def test_every_run_prints_the_logins_and_never_a_secret(tmp_path):
    text = run(tmp_path)
    details = (tmp_path / "details.log").read_text(encoding="utf-8")
    shown_once = secrets_in(details)
    assert len(shown_once) == 3  # two eastern checkpoints and the hospital, in the details file only
    assert_summary(text)
    again = run(tmp_path)
    assert "already loaded" in again and "skipped" in again
    assert_summary(again)
    assert Person.objects.count() == PERSONS and DemoCityRun.objects.count() == 1
    for secret in shown_once:
        assert secret not in text and secret not in again
    # the same summary on its own
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    assert_summary(out.getvalue())


def test_a_registry_that_is_not_the_demo_city_is_left_alone(tmp_path):
    from jiaoguan.core.identifiers import make_id_number

    Person.objects.create(name="外来档案", id_number=make_id_number("440304", dt.date(1980, 1, 1), 11),
                          birth_date=dt.date(1980, 1, 1), gender="M", created_at=timezone.now(),
                          updated_at=timezone.now())
    text = run(tmp_path)
    assert "not the demo city" in text and Person.objects.count() == 1 and not DemoCityRun.objects.exists()
