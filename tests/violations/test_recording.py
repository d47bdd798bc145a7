"""Recording violations: validation (nothing written on bad input), device record ids, evidence, audit."""
import datetime as dt

import pytest

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput
from jiaoguan.core.models import AuditEntry
from jiaoguan.violations import services
from jiaoguan.violations.models import Evidence, Violation
from tests.factories import make_person, make_vehicle
from tests.violations.conftest import APPROVER, JPEG, PNG, STAFF, camera, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def car():
    # registered 1 year ago: too new for Shenzhen's waiver, so waivers do not interfere here
    return make_vehicle(owner=make_person(), registered=clock.today() - dt.timedelta(days=365))


def test_record_on_site(car):
    v = record(car, code="1625")
    assert (v.vehicle, v.points, v.fine_fen, v.status, v.source) == (car, 6, 50000, "recorded", "on_site")
    assert AuditEntry.objects.filter(action="violation.record", object_id=str(v.pk)).exists()


@pytest.mark.parametrize("kw,code,field", [
    ({"code": "9999"}, "violations.unknown_code", "code"),
    ({"when": "future"}, "violations.future_time", "occurred_at"),
    ({"plate": "粤B9Z9Z9"}, "violations.unknown_plate", "plate"),
    ({"plate": "XX12345"}, "plate.format", "plate"),
    ({"plate_type": "99"}, "violations.plate_type", "plate_type"),
])
def test_bad_input_writes_nothing(car, kw, code, field):
    args = {"plate": car.plate, "plate_type": car.plate_type, "code": "1352", "place": "深南大道",
                "occurred_at": clock.now() - dt.timedelta(hours=1), "source": "on_site", "actor": STAFF}
    if kw.get("when") == "future":
        args["occurred_at"] = clock.now() + dt.timedelta(minutes=10)
    else:
        args.update(kw)
    before = AuditEntry.objects.count()
    with pytest.raises(InvalidInput) as exc:
        services.violation_record(**args)
    assert exc.value.code == code and field in exc.value.fields
    assert Violation.objects.count() == 0 and AuditEntry.objects.count() == before


def test_plate_of_another_city_is_recorded_without_vehicle():
    v = record(plate="粤A12345", plate_type="02")
    assert v.vehicle is None and v.plate == "粤A12345"


def test_on_site_needs_staff(car):
    with pytest.raises(Forbidden):
        record(car, actor=Actor(id=1, label="citizen", role="citizen"))


def test_device_record_id_is_recorded_once(car, device):
    first = camera(car, device, record_id="R-0001")
    again = services.violation_record(plate=car.plate, plate_type=car.plate_type, code="1625", place="别处",
                                      occurred_at=clock.now(), source="device", actor=Actor.system("d"),
                                      device=device, device_record_id="R-0001")
    assert not again.created and again.violation.pk == first.pk
    assert Violation.objects.count() == 1


def test_evidence_is_stored_and_checked(car):
    photos = [services.photo_check(JPEG), services.photo_check(PNG)]
    v = record(car, photos=photos)
    ev = list(Evidence.objects.filter(violation=v).order_by("pk"))
    assert [e.content_type for e in ev] == ["image/jpeg", "image/png"]
    assert ev[0].file.read() == JPEG and ev[0].size == len(JPEG)
    with pytest.raises(InvalidInput) as exc:
        services.photo_check(b"GIF89a" + bytes(10))
    assert exc.value.code == "violations.photo_type"
    with pytest.raises(InvalidInput) as exc:
        services.photo_check(JPEG + bytes(200 * 1024))
    assert exc.value.code == "violations.photo_too_large"
    with pytest.raises(InvalidInput) as exc:
        services.photos_decode(["not base64!!"])
    assert exc.value.code == "violations.photo_base64"


def test_transitions_are_checked(car):
    v = record(car)
    with pytest.raises(Conflict):
        services.violation_mark_paid(violation=v, actor=STAFF)
    services.violation_revoke(violation=v, actor=APPROVER, reason="录入错误 wrong entry")
    assert Violation.objects.get(pk=v.pk).status == "revoked"
    with pytest.raises(Conflict):
        services.violation_revoke(violation=v, actor=APPROVER, reason="again")
    assert AuditEntry.objects.filter(action="violation.revoke", object_id=str(v.pk)).count() == 1


def test_a_clerk_cannot_revoke():
    from jiaoguan.core.errors import Forbidden
    from tests.factories import make_person, make_vehicle

    v = record(make_vehicle(owner=make_person()))
    with pytest.raises(Forbidden):
        services.violation_revoke(violation=v, actor=STAFF, reason="录入错误 wrong entry")
    v.refresh_from_db()
    assert v.status != "revoked"
