"""驾驶证期满换证/补证: the applicant's own licence, the renewal window, the health check from the hospital
partner API (held material), a photo upload, the registry renewed on approval and the new licence posted."""
import datetime as dt

import pytest

from jiaoguan.applications import services
from jiaoguan.applications.catalogue import catalogue
from jiaoguan.applications.models import Application
from jiaoguan.applications.services import Ineligible
from jiaoguan.core.errors import InvalidInput
from jiaoguan.core.models import AuditEntry
from tests.applications.services.support import (
    PDF,
    PNG,
    approve_standard,
    citizen,
    draft_with,
    hospital_check,
    pay_fee,
    reasons,
    submit,
)
from tests.factories import make_licence

pytestmark = pytest.mark.django_db
S = Application.Status
TODAY = dt.date(2026, 11, 23)
ADDRESS = "广东省深圳市南山区科技园科苑路15号"


def driver(*, valid_until: dt.date | None = TODAY + dt.timedelta(days=30), health: bool = True, **kw):
    user = citizen(licence=False)
    first = kw.pop("first_issue", TODAY.replace(year=TODAY.year - 6) + dt.timedelta(days=30))
    make_licence(person=user.person, first_issue=first, valid_until=valid_until, **kw)
    if health:
        hospital_check(user.person)
    return user


def form(**over) -> dict:
    return {"kind": "renew", "address": ADDRESS, **over}


def test_declaration():
    service = catalogue().get("licence_renewal")
    assert [o.name for o in service.outputs] == ["licence_renewal.registry", "post", "pickup"]
    post, pickup = service.outputs[1:]
    assert post.applies({}) and not pickup.applies({})  # posted unless the applicant collects it
    assert not post.applies({"pickup": True}) and pickup.applies({"pickup": True})
    assert service.material("health_check").held == "registry.health_check"
    assert set(service.upload_slots()) == {"photo"}  # everything else is held by the platform (免提交)


def test_renewal_renews_the_registry_and_posts_the_licence(workday, django_capture_on_commit_callbacks):
    from jiaoguan.postal.models import Shipment
    from jiaoguan.registry.selectors import licence_for_person

    user = driver()
    app = submit(user, "licence_renewal", form(), {"photo": PNG})
    assert app.status == S.AWAITING_PAYMENT
    app = pay_fee(app)
    assert app.status == S.SUBMITTED
    held = {m.slot: m for m in app.materials.filter(kind="held")}
    assert set(held) == {"identity", "licence", "health_check"} and "HC-T-" in held["health_check"].summary_zh
    with django_capture_on_commit_callbacks(execute=True):
        app = approve_standard(app)
    assert app.status == S.APPROVED
    licence = licence_for_person(person=user.person)
    assert licence.valid_from == TODAY + dt.timedelta(days=30) and licence.validity == "10y"
    assert licence.valid_until == licence.valid_from.replace(year=licence.valid_from.year + 10)
    assert app.outcome["licence_renewal.registry"]["valid_until"] == licence.valid_until.isoformat()
    assert AuditEntry.objects.filter(action="licence.renew", object_id=str(licence.pk)).exists()
    shipment = Shipment.objects.get(pk=app.outcome["post"]["shipment_id"])
    assert shipment.item_zh == "机动车驾驶证" and shipment.address == ADDRESS
    assert shipment.recipient_name == user.person.name  # no recipient given: the applicant, from the registry
    app.refresh_from_db()
    shipment.refresh_from_db()
    assert shipment.tracking_number and app.outcome["post"]["tracking_number"] == shipment.tracking_number


def test_no_valid_health_check_is_refused_with_a_reason(workday):
    user = driver(health=False)
    app = draft_with(user, "licence_renewal", form(), {"photo": PNG})
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=user, application_id=app.pk)
    zh, en = reasons(e.value)["material.health_check"]
    assert "身体条件证明" in zh and "health-check certificate" in en
    # an old check (over 6 months) does not count either; a new one does
    hospital_check(user.person, days_ago=200)
    with pytest.raises(Ineligible):
        services.application_submit(user=user, application_id=app.pk)
    hospital_check(user.person, days_ago=1)
    assert services.application_submit(user=user, application_id=app.pk).status == S.AWAITING_PAYMENT


def test_an_unfit_latest_check_is_refused(workday):
    user = driver()
    hospital_check(user.person, days_ago=1, result="unfit")
    app = draft_with(user, "licence_renewal", form(), {"photo": PNG})
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=user, application_id=app.pk)
    assert "material.health_check" in reasons(e.value)


@pytest.mark.parametrize("licence, kind, code", [
    ({"valid_until": TODAY + dt.timedelta(days=200)}, "renew", "licence.renewal_not_open"),
    ({"valid_until": None, "validity": None}, "renew", "licence.long_term"),
    ({"valid_until": TODAY - dt.timedelta(days=30)}, "replace_lost", "licence.status"),
    ({"status": "suspended"}, "replace_damaged", "licence.status"),
])
def test_licence_refusals(workday, licence, kind, code):
    licence.pop("validity", None)
    user = driver(**licence)
    app = draft_with(user, "licence_renewal", form(kind=kind), {"photo": PNG})
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=user, application_id=app.pk)
    zh, en = reasons(e.value)[code]
    assert zh and en and zh != en


def test_an_expired_licence_may_still_be_renewed_within_a_year(workday):
    user = driver(valid_until=TODAY - dt.timedelta(days=60))
    assert submit(user, "licence_renewal", form(), {"photo": PNG}).status == S.AWAITING_PAYMENT


def test_replacement_keeps_the_dates_records_it_and_posts(workday):
    from jiaoguan.registry.selectors import licence_for_person

    user = driver(valid_until=TODAY + dt.timedelta(days=900))
    before = licence_for_person(person=user.person).valid_until
    app = approve_standard(pay_fee(submit(user, "licence_renewal",
                                  form(kind="replace_lost", recipient_name="王大明", recipient_phone="13712345678"),
                                  {"photo": PNG})))
    assert licence_for_person(person=user.person).valid_until == before
    assert AuditEntry.objects.filter(action="licence.replace", subject_person_id=user.person_id).exists()
    assert app.outcome["post"]["shipment_id"]


def test_no_licence_at_all(workday):
    user = citizen(licence=False)
    hospital_check(user.person)
    app = draft_with(user, "licence_renewal", form(), {"photo": PNG})
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=user, application_id=app.pk)
    assert "licence.none" in reasons(e.value)


def test_photo_must_be_an_image_of_limited_size(workday):
    user = driver()
    app = draft_with(user, "licence_renewal", form())
    with pytest.raises(InvalidInput) as e:
        services.material_upload(user=user, application_id=app.pk, slot="photo", filename="photo.jpg", content=PDF)
    assert e.value.code == "applications.file_type" and "JPEG" in e.value.zh and "PNG" in e.value.en
    with pytest.raises(InvalidInput) as e:
        services.material_upload(user=user, application_id=app.pk, slot="photo", filename="photo.png",
                                 content=PNG + bytes(1024 * 1024))
    assert e.value.code == "applications.file_too_large"
    with pytest.raises(InvalidInput) as e:  # a missing photo is named, the draft stays
        services.application_submit(user=user, application_id=app.pk)
    assert "photo" in e.value.fields
    app.refresh_from_db()
    assert app.status == S.DRAFT and app.form()["address"] == ADDRESS


@pytest.mark.parametrize("full_score_cycle", [None, "earlier", "before_the_period"])
def test_the_validity_step_looks_at_every_cycle_of_the_period(workday, full_score_cycle):
    """DOMAIN §3: 6 → 10 years only if no scoring cycle of the ending period reached 12 points — a full score two
    cycles ago counts although the current cycle is clean; one before the period began does not."""
    from jiaoguan.registry.selectors import licence_for_person
    from jiaoguan.violations.models import PointsAccount

    user = driver()  # a six-year licence, valid from six years ago, expiring in 30 days
    licence = licence_for_person(person=user.person)
    assert licence.validity == "6y" and licence.cycle_points == 0
    if full_score_cycle is not None:
        start = licence.valid_from + dt.timedelta(days=400 if full_score_cycle == "earlier" else -800)
        PointsAccount.objects.create(licence=licence, cycle_start=start, cycle_end=start + dt.timedelta(days=364),
                                     total=12)
    approve_standard(pay_fee(submit(user, "licence_renewal", form(), {"photo": PNG})))
    licence = licence_for_person(person=user.person)
    assert licence.validity == ("6y" if full_score_cycle == "earlier" else "10y")
