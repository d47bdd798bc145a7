"""The demo citizen's violations (violations.demo): one to handle online, one that cannot be (with the reason),
one eligible for the first-violation waiver, one handled 25 days ago whose unpaid fine accrues a late fee — all
made through the public services, idempotently, at any hour of the Beijing day."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jiaoguan.identity.demo import CITIZEN_PHONE, create_demo_accounts
from jiaoguan.identity.selectors import user_by_phone
from jiaoguan.payments import selectors as payments
from jiaoguan.registry.demo import generate_city
from jiaoguan.violations import services
from jiaoguan.violations.demo import SEEDED, demo_violation_lines, demo_violations
from jiaoguan.violations.models import PenaltyDecision, PointsEntry, Violation

pytestmark = pytest.mark.django_db
TZ = timezone.get_fixed_timezone(8 * 60)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def seeded() -> dict[str, Violation]:
    by_record = {s.record_id: s.key for s in SEEDED}
    return {by_record[v.device_record_id]: v for v in Violation.objects.filter(device_record_id__in=by_record)}


@pytest.fixture
def citizen(clock):
    clock.freeze(dt.datetime(2026, 11, 21, 10, 0, tzinfo=TZ))
    city = generate_city(persons=0, seed=3)  # the showcase people only
    create_demo_accounts(city=city)
    return user_by_phone(phone=CITIZEN_PHONE)


# 00:30 and 07:59 are the hours when the UTC date is the day before; 23:59 and a month's, a year's end too
@pytest.mark.parametrize("at", [dt.datetime(2026, 11, 21, 10, 0), dt.datetime(2026, 12, 1, 0, 30),
                                dt.datetime(2027, 1, 1, 7, 59), dt.datetime(2026, 10, 31, 23, 59)])
def test_the_four_journeys_are_seeded_through_the_services(citizen, clock, at):
    at = at.replace(tzinfo=TZ)
    clock.freeze(at)
    made = demo_violations()
    assert sorted(made.recorded) == sorted(s.key for s in SEEDED) and made.handled == ["late"]
    assert clock.now() == at  # the caller's frozen clock is where it was (the past decision moved it and back)
    v = seeded()
    today = at.date()

    # handleable online: no refusal
    assert v["online"].status == "recorded" and v["online"].source == "device"
    assert services.online_refusals(user=citizen, violation=v["online"]) == []
    # not online: the reason is the fine over the online limit
    assert v["counter"].status == "recorded"
    assert [r.code for r in services.online_refusals(user=citizen, violation=v["counter"])] == [
        "violations.fine_too_high"]
    # eligible for the first-violation waiver, and still the citizen's to ask for
    assert v["waiver"].status == "recorded" and services.waiver_check(violation=v["waiver"]) is not None
    assert v["misread"].status == "revoked"
    # handled 25 days ago (a local date), unpaid: 10 days of late fee at 3 % of ¥200
    decision = PenaltyDecision.objects.get(violation=v["late"])
    assert v["late"].status == "handled" and decision.decision_date == today - dt.timedelta(days=25)
    assert timezone.localdate(decision.decided_at) == decision.decision_date
    item = payments.payable_for_source(source_type="violations.decision", source_id=str(decision.pk))
    assert payments.payable_amount_due(item=item) == (20000, 6000, 26000)
    assert PointsEntry.objects.filter(violation=v["late"], points=3).exists()
    # every violation happened before it was recorded, and on the local day the summary names
    for key, spec in ((s.key, s) for s in SEEDED):
        assert timezone.localdate(v[key].occurred_at) == today - dt.timedelta(days=spec.days_ago)
        assert v[key].occurred_at < v[key].recorded_at
        assert v[key].evidence.count() == 1


def test_the_citizen_can_do_what_the_summary_promises(citizen):
    demo_violations()
    v = seeded()
    decision = services.violation_handle_online(user=citizen, violation_id=v["online"].pk)
    assert decision.fine_fen == 20000
    waived = services.violation_request_waiver(user=citizen, violation_id=v["waiver"].pk)
    assert (waived.status, waived.points, waived.fine_fen) == ("waived", 0, 0)
    lines = "\n".join(demo_violation_lines())
    assert "粤B·D12345" in lines and "粤B·A7M29" in lines and "滞纳金 late fee ¥60.00" in lines
    assert "首违免罚" in lines and "已撤销" in lines


def test_a_second_call_adds_nothing_and_resumes_a_half_done_one(citizen, monkeypatch):
    from jiaoguan.violations import demo

    calls = []
    real = services.violation_handle_online

    def failing(**kw):  # the process dies while handling the past decision
        calls.append(kw)
        raise RuntimeError("interrupted")

    monkeypatch.setattr(services, "violation_handle_online", failing)
    with pytest.raises(RuntimeError):
        demo.demo_violations()
    assert calls and not PenaltyDecision.objects.exists()
    monkeypatch.setattr(services, "violation_handle_online", real)
    again = demo.demo_violations()
    assert again.recorded == ["online"] and again.handled == ["late"]
    # the camera records, plus the detained driver's on-site violation (handled at a counter: a second decision)
    assert Violation.objects.count() == len(SEEDED) + 1 and PenaltyDecision.objects.count() == 2
    third = demo.demo_violations()
    assert third.recorded == [] and third.handled == [] and third.revoked == []
    assert Violation.objects.count() == len(SEEDED) + 1 and PenaltyDecision.objects.count() == 2


def test_without_the_demo_citizen_nothing_is_seeded():
    made = demo_violations()
    assert made.missing and not Violation.objects.exists()


def test_the_detained_showcase_driver_can_ask_for_the_licence_back(citizen, clock):
    """The "detained" showcase driver's licence is held for a violation handled at a counter and paid through the
    payment simulator: 放车还证 is offered and approved at once; a second seeding changes nothing."""
    from jiaoguan.applications import services as applications
    from jiaoguan.core.models import OutboxEvent
    from jiaoguan.core.outbox import event_deliver
    from jiaoguan.violations import selectors as violation_selectors
    from jiaoguan.violations.demo import DETENTION_NOTICE, DETENTION_PHONE
    from jiaoguan.violations.models import Detention

    demo_violations()
    for event in OutboxEvent.objects.filter(topic="payments.item_settled", delivered_at__isnull=True):
        event_deliver(event.pk)  # what the dispatcher does after commit
    user = user_by_phone(phone=DETENTION_PHONE)
    d = Detention.objects.get(notice_number=DETENTION_NOTICE)
    assert d.person_id == user.person_id and d.kind == "licence" and d.status == "held"
    assert d.violations.get().status == "paid"
    assert violation_selectors.detention_release_refusals(detention=d) == []
    made = demo_violations()
    assert "held" in made.detention.lower() or "扣留中" in made.detention
    assert Detention.objects.count() == 1 and PenaltyDecision.objects.filter(violation__detentions=d).count() == 1
    app = applications.application_draft_create(user=user, service_code="detention_release",
                                                data={"detention": DETENTION_NOTICE, "pickup": "on"})
    app = applications.application_submit(user=user, application_id=app.pk)
    assert app.status == "approved" and Detention.objects.get(pk=d.pk).status == "released"
