"""证明与信息单 issued at once: the driver's record, a vehicle's record, the no-vehicle and the no-violation
certificate — signed e-certificates derived from the registry and the violations ledger, masked, expiring,
verifiable by their QR token and revocable; refused with the reason when the statement would be false."""
import datetime as dt

import pytest

from jiaoguan.applications.models import Application
from jiaoguan.applications.services import Ineligible
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import InvalidInput
from jiaoguan.credentials.services import credential_revoke, credential_verify
from tests.applications.services.support import citizen, credential_of, fields_of, reasons, submit
from tests.factories import make_vehicle
from tests.violations.conftest import record

pytestmark = pytest.mark.django_db
S = Application.Status


def test_the_drivers_record_is_issued_at_once_masked_expiring_and_verifiable(workday):
    user = citizen()
    app = submit(user, "driver_record", {})
    assert app.status == S.APPROVED and app.auto_decided
    cred = credential_of(app, "certificate")
    fields = fields_of(cred)
    assert fields["准驾车型"] == "C1" and "本记分周期累积记分" in fields and fields["出具时间"].startswith("2026-11-23")
    assert user.person.name not in fields["姓名"] and user.person.id_number not in fields["身份证明号码"]
    assert cred.valid_until == workday.today() + dt.timedelta(days=30)
    assert credential_verify(number=cred.number, token=cred.token).status == "valid"
    credential_revoke(credential_id=cred.pk, actor=Actor.system("test"), reason="档案更正 record corrected")
    assert credential_verify(number=cred.number, token=cred.token).status == "revoked"
    workday.freeze(dt.datetime(2026, 12, 24, 10, 0))
    fresh = submit(user, "driver_record", {})
    assert credential_verify(number=credential_of(fresh, "certificate").number,
                             token=credential_of(fresh, "certificate").token).status == "valid"
    workday.freeze(dt.datetime(2027, 1, 24, 10, 0))
    later = credential_of(fresh, "certificate")
    assert credential_verify(number=later.number, token=later.token).status == "expired"


def test_no_licence_no_drivers_record(workday):
    with pytest.raises(Ineligible) as exc:
        submit(citizen(licence=False), "driver_record", {})
    assert "licence.none" in reasons(exc.value)


def test_a_vehicle_record_only_for_ones_own_vehicle(workday):
    user = citizen()
    car = make_vehicle(owner=user.person)
    app = submit(user, "vehicle_record", {"plate": car.plate})
    fields = fields_of(credential_of(app, "certificate"))
    assert fields["号牌号码"] == car.plate and "检验有效期至" in fields and "交强险" in fields
    other = make_vehicle(owner=citizen().person)
    with pytest.raises(InvalidInput):
        submit(user, "vehicle_record", {"plate": other.plate})


def test_no_vehicle_certificate_refused_while_a_vehicle_is_registered(workday):
    user = citizen()
    app = submit(user, "no_vehicle_certificate", {})
    assert "无登记在其名下的机动车" in fields_of(credential_of(app, "certificate"))["证明事项"]
    make_vehicle(owner=user.person)
    with pytest.raises(Ineligible) as exc:
        submit(user, "no_vehicle_certificate", {})
    assert "certificate.has_vehicles" in reasons(exc.value)


@pytest.mark.parametrize("hour,minute", [(0, 30), (23, 59)])
def test_no_violation_certificate_counts_the_period_in_local_days(clock, hour, minute):
    """A violation on the first local day of a 1-year period counts; one the day before does not — at 00:30 and at
    23:59 Beijing time alike (a UTC date would move the boundary by a day)."""
    clock.freeze(dt.datetime(2026, 11, 23, hour, minute))
    user = citizen()
    car = make_vehicle(owner=user.person, registered=dt.date(2020, 1, 1))
    # 2025-11-22 23:30 local: the day before the period 2025-11-23 .. 2026-11-23
    record(car, code="1352", when=_local(dt.date(2025, 11, 22), dt.time(23, 30)))
    app = submit(user, "no_violation_certificate", {"years": "1"})
    statement = fields_of(credential_of(app, "certificate"))["证明事项"]
    assert "2025-11-23至2026-11-23" in statement
    record(car, code="1352", when=_local(dt.date(2025, 11, 23), dt.time(0, 10)))
    with pytest.raises(Ineligible) as exc:
        submit(user, "no_violation_certificate", {"years": "1"})
    assert "certificate.violations_on_record" in reasons(exc.value)


def test_a_revoked_violation_does_not_count_and_the_licence_holder_is_covered(workday):
    from jiaoguan.violations import services as violations

    user = citizen()
    car = make_vehicle(owner=user.person)
    v = record(car, code="1352")
    with pytest.raises(Ineligible):
        submit(user, "no_violation_certificate", {"years": "3"})
    violations.violation_revoke(violation=v, actor=Actor.system("test"), reason="号牌识别错误 misread plate")
    app = submit(user, "no_violation_certificate", {"years": "3"})
    assert app.status == S.APPROVED


def _local(day, time):
    from jiaoguan.core import clock

    return clock.local_datetime(day, time)


def test_a_scrapped_cars_violation_in_the_period_still_counts(workday):
    user = citizen()
    car = make_vehicle(owner=user.person)
    record(car, code="1352")
    car.status = "scrapped"
    car.save(update_fields=["status"])
    with pytest.raises(Ineligible) as exc:
        submit(user, "no_violation_certificate", {"years": "1"})
    assert "certificate.violations_on_record" in reasons(exc.value)
