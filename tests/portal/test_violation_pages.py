"""我的违法 pages: list, detail with evidence, online handling, first-violation waiver, disputes."""
from __future__ import annotations

import pytest

from jiaoguan.core.audit import Actor
from jiaoguan.violations import services
from jiaoguan.violations.models import Dispute, PenaltyDecision
from tests.portal.support import EN, field_errors, staff_user, text
from tests.violations.conftest import JPEG, _codes, _media, record  # noqa: F401 - autouse fixtures
from tests.violations.test_handling import citizen_with_car

pytestmark = pytest.mark.django_db


@pytest.fixture
def device():
    """A camera (the violations tests' fixture, defined here so the name is this module's own)."""
    from jiaoguan.violations import signing

    made, _secret = signing.device_create(name="深南大道电警01", place="深南大道")
    return made

LIST = "/me/violations/"


def camera(vehicle, device, *, code="1352"):
    """A camera-recorded violation with an evidence photo."""
    import secrets

    return record(vehicle, code=code, source="device", actor=Actor.system("test-device"), device=device,
                  device_record_id=secrets.token_hex(6), photos=[services.photo_check(JPEG)])


def url(v, action: str = "") -> str:
    return f"/me/violations/{v.pk}/{action + '/' if action else ''}"


@pytest.fixture
def owner(client):
    user, car = citizen_with_car()
    client.force_login(user)
    return user, car


@pytest.fixture
def stranger_violation(device):
    _user, car = citizen_with_car()
    return camera(car, device, code="1352")


# --- access --------------------------------------------------------------------------------------------------------

def test_anonymous_visitors_go_to_the_login_page(client):
    r = client.get(LIST)
    assert r.status_code == 302 and r["Location"].startswith("/login/?next=")


def test_staff_accounts_go_to_the_console(client):
    client.force_login(staff_user("approver", "appr101"))
    assert client.get(LIST)["Location"] == "/console/"


def test_another_citizens_violation_is_404_everywhere(client, owner, stranger_violation, device):
    v = stranger_violation
    mine = camera(owner[1], device)
    evidence = v.evidence.first()
    assert client.get(url(v)).status_code == 404
    assert client.get(url(v, f"photos/{evidence.pk}")).status_code == 404
    assert client.post(url(v, "handle"), {"idempotency_key": "key-0000001"}).status_code == 404
    assert client.post(url(v, "waiver")).status_code == 404
    assert PenaltyDecision.objects.count() == 0
    v.refresh_from_db()
    assert v.status == "recorded"
    assert [row["v"].pk for row in client.get(LIST).context["rows"]] == [mine.pk]
    # not offered in the dispute form either, and a forged choice is refused
    r = client.post("/me/violations/disputes/new/", {"kind": "appeal", "violation_ids": [v.pk],
                                                       "reason": "不是我的车辆所为，请核实"})
    assert r.status_code == 400 and field_errors(r, "violation_ids")
    assert Dispute.objects.count() == 0


# --- list and detail -----------------------------------------------------------------------------------------------

def test_list_shows_my_violations_with_status_tags(client, owner, device):
    _user, car = owner
    v1 = camera(car, device, code="1352")
    v2 = record(car, code="1625")
    body = text(client.get(LIST))
    assert "未处理" in body and "¥200.00" in body and "¥500.00" in body
    assert "深南大道与彩田路交叉口" in body
    r = client.get(LIST + "?status=handled")
    assert r.context["rows"] == [] and "暂无违法记录" in text(r)
    assert {row["v"].pk for row in client.get(LIST + "?status=recorded").context["rows"]} == {v1.pk, v2.pk}
    assert client.get(LIST + "?status=bogus").status_code == 200  # an unknown filter shows everything


def test_list_in_english(client, owner, device):
    _user, car = owner
    camera(car, device, code="1352")
    body = text(client.get(LIST, **EN))
    assert "Not handled" in body


def test_detail_shows_the_evidence_and_the_facts(client, owner, device):
    _user, car = owner
    v = camera(car, device, code="1352")
    r = client.get(url(v))
    body = text(r)
    assert r.status_code == 200
    for fact in ("1352", "深南大道与彩田路交叉口", "¥200.00", "违法证据", "确认违法事实，网上处理", "非现场（电子监控）"):
        assert fact in body
    assert "Camera-recorded" not in body and "Camera-recorded" in text(client.get(url(v), **EN))
    evidence = v.evidence.first()
    photo_url = url(v, f"photos/{evidence.pk}")
    assert f'src="{photo_url}"' in r.content.decode()
    photo = client.get(photo_url)
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    assert b"".join(photo.streaming_content) == JPEG
    assert "no-store" in photo["Cache-Control"]
    assert client.get(url(v, "photos/999999")).status_code == 404


# --- online handling -----------------------------------------------------------------------------------------------

def test_handling_online_issues_the_decision_once(client, owner, device):
    _user, car = owner
    v = camera(car, device, code="1352")
    key = client.get(url(v)).context["handle_form"].initial["idempotency_key"]
    r = client.post(url(v, "handle"), {"idempotency_key": key})
    assert r.status_code == 302 and r["Location"] == url(v)
    decision = PenaltyDecision.objects.get(violation=v)
    body = text(client.get(url(v)))
    assert decision.number in body and "去缴款" in body and "已处理未缴款" in body
    assert 'href="/me/payments/"' in client.get(url(v)).content.decode()
    # the same form submitted again (double click, back button): the same decision, nothing new
    r = client.post(url(v, "handle"), {"idempotency_key": key})
    assert r.status_code == 302
    assert PenaltyDecision.objects.count() == 1
    from jiaoguan.payments.selectors import payable_for_source

    item = payable_for_source(source_type="violations.decision", source_id=str(decision.pk))
    assert item is not None and item.amount_fen == 20000
    # the decision carries its payment reference as a Code 128 barcode and a QR code (缴费一维码)
    page = client.get(url(v)).content.decode()
    assert 'data-testid="barcode"' in page and 'data-testid="qr"' in page and "<svg" in page
    from jiaoguan.payments.reference import reference_display

    assert reference_display(item.reference) in page


def test_handle_without_a_key_is_a_clear_400(client, owner, device):
    _user, car = owner
    v = camera(car, device, code="1352")
    r = client.post(url(v, "handle"), {})
    assert r.status_code == 400 and "页面已过期" in text(r)
    assert PenaltyDecision.objects.count() == 0


def test_refusals_say_why_and_where_to_go(client, owner, device):
    _user, car = owner
    v = camera(car, device, code="1625")  # ¥500: over the online limit
    r = client.get(url(v))
    body = text(r)
    assert "不能在网上处理" in body and "窗口" in body and "确认违法事实，网上处理" not in body
    r = client.post(url(v, "handle"), {"idempotency_key": "key-1625-0001"})
    assert r.status_code == 403 and "未能办理" in text(r) and "窗口" in text(r)
    assert PenaltyDecision.objects.count() == 0
    r = client.post(url(v, "handle"), {"idempotency_key": "key-1625-0002"}, **EN)
    assert r.status_code == 403 and "counter" in text(r)


def test_on_site_violations_cannot_be_handled_online(client, owner):
    _user, car = owner
    v = record(car, code="1352")  # on-site
    r = client.post(url(v, "handle"), {"idempotency_key": "key-onsite-01"})
    assert r.status_code == 403 and "现场" in text(r)


def test_a_new_energy_plate_is_drawn_green(client, owner, device):
    """粤B·D12345 is a green (new-energy) plate wherever it is drawn; the violation pages drew it blue."""
    _user, car = owner
    car.plate, car.plate_type = "粤BD12355", "52"
    car.save(update_fields=["plate", "plate_type"])
    v = camera(car, device, code="1352")
    for page in (url(v), LIST):
        html = client.get(page).content.decode()
        assert '<span class="plate nev">粤B·D12355</span>' in html, page


# --- waiver --------------------------------------------------------------------------------------------------------

def test_waiver_request_shows_the_rule(client, owner, device, settings):
    _user, car = owner
    settings.JIAOGUAN_VIOLATIONS = {"WAIVER_RULES": ()}
    v = camera(car, device, code="1116")
    assert v.status == "recorded"
    settings.JIAOGUAN_VIOLATIONS = {"WAIVER_RULES": ("national",)}
    assert "首违警告" in text(client.get(url(v)))  # the rule is shown before asking
    r = client.post(url(v, "waiver"), follow=True)
    body = text(r)
    assert "首违免罚" in body and "首违警告" in body and "不罚款、不记分" in body
    v.refresh_from_db()
    assert (v.status, v.waiver_rule, v.points, v.fine_fen) == ("waived", "national", 0, 0)


def test_waiver_refused_says_why(client, owner, device, settings):
    _user, car = owner
    v = camera(car, device, code="1352")
    r = client.post(url(v, "waiver"))
    assert r.status_code == 409 and "不符合首违免罚条件" in text(r)
    v.refresh_from_db()
    assert v.status == "recorded"


def test_red_light_violation_offers_no_waiver_and_says_why(client, owner, device):
    """A 6-point red-light violation is neither fine-only (the city's rule) nor on the national list: the page
    does not offer the button (which would only be refused after the tap) and says why."""
    _user, car = owner
    v = camera(car, device, code="1625")
    r = client.get(url(v))
    body = text(r)
    assert f'action="{url(v, "waiver")}"' not in r.content.decode()
    assert not r.context["can_waive"]
    assert "不能申请首违免罚" in body
    assert "不在全国首违警告清单内" in body and "不记分" in body
    r = client.get(url(v), HTTP_ACCEPT_LANGUAGE="en")
    assert "not on the national first-violation list" in text(r)


def test_waiver_offer_is_the_check_the_service_enforces(client, owner, device, settings):
    """Whatever the page offers, the tap grants; whatever it does not, the tap refuses."""
    from jiaoguan.core.errors import Conflict
    from jiaoguan.violations import selectors

    user, car = owner
    settings.JIAOGUAN_VIOLATIONS = {"WAIVER_RULES": ()}
    v1, v2 = camera(car, device, code="1116"), camera(car, device, code="1625")
    for rules_ in (("national",), ("shenzhen",), ("shenzhen", "national")):
        settings.JIAOGUAN_VIOLATIONS = {"WAIVER_RULES": rules_}
        for v in (v1, v2):
            v.refresh_from_db()
            if v.status != "recorded":
                continue
            offer = selectors.waiver_offer(violation=v)
            shown = f'action="{url(v, "waiver")}"' in client.get(url(v)).content.decode()
            assert shown == offer.allowed
            if not offer.allowed:
                with pytest.raises(Conflict):
                    services.violation_request_waiver(user=user, violation_id=v.pk)
            else:
                assert services.violation_request_waiver(user=user, violation_id=v.pk).status == "waived"


def test_a_refused_waiver_tap_does_not_leave_the_button(client, owner, device):
    _user, car = owner
    v = camera(car, device, code="1625")
    r = client.post(url(v, "waiver"))
    assert r.status_code == 409 and f'action="{url(v, "waiver")}"' not in r.content.decode()


# --- disputes ------------------------------------------------------------------------------------------------------

def test_dispute_form_preselects_and_submits(client, owner, device):
    _user, car = owner
    v = camera(car, device, code="1352")
    other = camera(car, device, code="1357")
    r = client.get(f"/me/violations/disputes/new/?violation={v.pk}")
    assert r.status_code == 200 and r.context["form"].initial["violation_ids"] == [v.pk]
    r = client.post("/me/violations/disputes/new/", {
        "kind": "cloned", "violation_ids": [v.pk, other.pk], "reason": "当日车辆停放在小区车库，有监控为证",
        "photos": [_upload("garage.jpg", JPEG)]})
    assert r.status_code == 302 and r["Location"] == LIST
    d = Dispute.objects.get()
    assert d.kind == "cloned" and set(d.violations.values_list("pk", flat=True)) == {v.pk, other.pk}
    assert d.photos.count() == 1
    v.refresh_from_db()
    assert v.status == "disputed"
    body = text(client.get(url(v)))
    assert "我的申诉" in body and "待审核" in body


def test_dispute_bad_input_is_shown_beside_the_field(client, owner, device):
    _user, car = owner
    v = camera(car, device, code="1352")
    r = client.post("/me/violations/disputes/new/", {"kind": "appeal", "violation_ids": [v.pk], "reason": "不是"})
    assert r.status_code == 422 and field_errors(r, "reason") == ["请说明理由（5–2000字）"]
    r = client.post("/me/violations/disputes/new/", {"kind": "appeal", "violation_ids": [v.pk],
                                                       "reason": "违法时车辆不在该地点",
                                                       "photos": [_upload("x.gif", b"GIF89a" + bytes(20))]})
    assert r.status_code == 400 and field_errors(r, "photos")
    r = client.post("/me/violations/disputes/new/", {"kind": "nonsense", "violation_ids": [], "reason": ""})
    assert r.status_code == 400 and field_errors(r, "kind") and field_errors(r, "violation_ids")
    assert Dispute.objects.count() == 0
    v.refresh_from_db()
    assert v.status == "recorded"


def test_no_disputable_violations(client, owner):
    r = client.get("/me/violations/disputes/new/")
    assert r.status_code == 200 and "没有可以申诉的违法记录" in text(r)


def _upload(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="image/jpeg")

