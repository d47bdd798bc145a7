"""网上办事 pages (/services/): the catalogue and guides (public), applying (form generated from the declaration,
draft save and resume, uploads, held materials), check and submit (one-time key), my applications with the
timeline, send-back and correction, withdrawal, the result (e-permit link, postal tracking), access rules, English.

Runs against the app's catalogue, the engine's test services (tests/applications/catalogue) and two services
declared here: ``t_every`` (every field type) and ``t_ent`` (enterprises only).
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jiaoguan.applications import services
from jiaoguan.applications.catalogue import CATALOGUE_DIR, catalogue_load, catalogue_use
from jiaoguan.applications.models import Application, Material
from jiaoguan.core import clock as core_clock
from tests.applications.support import GIF, PDF, PNG, TEST_CATALOGUE, actor, staff
from tests.applications.support import citizen as make_citizen
from tests.portal.support import EN, text

pytestmark = pytest.mark.django_db

BASE = "/services/"

EVERY = """
code = "t_every"
version = "1"
category = "vehicles"
applicants = ["citizen"]
fees = ["vehicle_licence"]
time_limit_days = 2
keywords = ["全类型"]
name = { zh = "测试全部字段", en = "Test every field" }
summary = { zh = "每种表单项目。", en = "Every kind of form field." }

[guide]
conditions = [{ zh = "持有驾驶证。", en = "Hold a driving licence." }]
process = [{ zh = "网上申请。", en = "Apply online." }]
legal_basis = [{ zh = "测试依据", en = "Test basis" }]
notes = [{ zh = "请如实填写。", en = "Answer truthfully." }]

[[form.fields]]
name = "plate"
type = "plate"
label = { zh = "号牌号码", en = "Plate number" }

[[form.fields]]
name = "travel_date"
type = "date"
label = { zh = "通行日期", en = "Date of travel" }
min = "today+1"
max = "today+30"

[[form.fields]]
name = "zone"
type = "choice"
label = { zh = "通行区域", en = "Zone" }
choices = [{ value = "ns", zh = "南山区", en = "Nanshan" }, { value = "ft", zh = "福田区", en = "Futian" }]

[[form.fields]]
name = "district"
type = "choice"
label = { zh = "所在街道", en = "Subdistrict" }
required = false
choices = [
  { value = "a", zh = "甲", en = "A" }, { value = "b", zh = "乙", en = "B" }, { value = "c", zh = "丙", en = "C" },
  { value = "d", zh = "丁", en = "D" }, { value = "e", zh = "戊", en = "E" },
]

[[form.fields]]
name = "trips"
type = "number"
label = { zh = "通行次数", en = "Trips" }
min = 1
max = 10

[[form.fields]]
name = "driver_id"
type = "id_number"
label = { zh = "驾驶人身份证号码", en = "Driver's ID number" }
required = false

[[form.fields]]
name = "contact"
type = "phone"
label = { zh = "联系电话", en = "Contact phone" }

[[form.fields]]
name = "company_code"
type = "uscc"
label = { zh = "统一社会信用代码", en = "USCC" }
required = false

[[form.fields]]
name = "vin"
type = "vin"
label = { zh = "车辆识别代号", en = "VIN" }
required = false

[[form.fields]]
name = "purpose"
type = "textarea"
label = { zh = "用途说明", en = "Purpose" }
help = { zh = "简要说明。", en = "In a few words." }
max_length = 50

[[form.fields]]
name = "promise"
type = "boolean"
label = { zh = "本人承诺所填信息真实", en = "I confirm the answers are true" }

[[form.fields]]
name = "photo"
type = "file"
label = { zh = "车辆照片", en = "Vehicle photo" }
required = false

[[materials]]
code = "licence"
name = { zh = "机动车驾驶证", en = "Driving licence" }
held = "registry.licence"
upload_if_not_held = true

[[materials]]
code = "contract"
name = { zh = "运输合同", en = "Transport contract" }
types = ["pdf"]
max_kb = 1
max_files = 1
"""

ENTERPRISE = """
code = "t_ent"
version = "1"
category = "parking"
applicants = ["enterprise"]
time_limit_days = 3
name = { zh = "测试企业事项", en = "Test enterprise service" }
summary = { zh = "仅限企业。", en = "Enterprises only." }

[guide]
conditions = [{ zh = "企业", en = "An enterprise" }]
process = [{ zh = "受理、审批", en = "Accept, approve" }]
legal_basis = [{ zh = "测试", en = "Test" }]
"""


@pytest.fixture(autouse=True)
def test_catalogue(tmp_path):
    (tmp_path / "t_every.toml").write_text(EVERY, encoding="utf-8")
    (tmp_path / "t_ent.toml").write_text(ENTERPRISE, encoding="utf-8")
    with catalogue_use(catalogue_load(CATALOGUE_DIR, TEST_CATALOGUE, tmp_path)) as cat:
        yield cat


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def me(client):
    user = make_citizen()
    client.force_login(user)
    return user


def tomorrow() -> str:
    return (core_clock.today() + dt.timedelta(days=1)).isoformat()


def key(response) -> str:
    m = re.search(r'name="idempotency_key" value="([^"]+)"', response.content.decode())
    assert m, "no one-time key on the page"
    return m.group(1)


def every_answers(**over) -> dict:
    data = {"plate": "粤BA1234", "travel_date": tomorrow(), "zone": "ns", "district": "", "trips": "2",
            "driver_id": "", "contact": "13800138000", "company_code": "", "vin": "", "purpose": "运送建材",
            "promise": "on"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def pdf(name="contract.pdf", content=PDF[:900]) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def start(client, code: str, data: dict, **files):
    page = client.get(f"{BASE}{code}/apply/")
    assert page.status_code == 200
    return client.post(f"{BASE}{code}/apply/", {**data, **files, "idempotency_key": key(page), "go": "save"})


def only_app(user) -> Application:
    return Application.objects.get(applicant=user)


# --- the catalogue and guides ---------------------------------------------------------------------------------


def test_catalogue_lists_listed_services_with_search_and_categories(client):
    r = client.get(BASE)
    assert r.status_code == 200
    body = text(r)
    assert "办事大厅" in body and "测试全部字段" in body and "每种表单项目。" in body and "测试标准事项" in body
    assert "示例通行许可" not in body  # listed = false
    r = client.get(BASE, {"q": "全类型"})
    body = text(r)
    assert "测试全部字段" in body and "测试标准事项" not in body
    r = client.get(BASE, {"category": "parking"})
    body = text(r)
    assert "测试企业事项" in body and "测试全部字段" not in body
    r = client.get(BASE, {"q": "没有这样的事项"})
    assert "没有找到相关事项" in text(r)
    assert client.get(BASE, {"q": "x" * 500}).status_code == 200


def test_guide_is_generated_from_the_declaration(client):
    r = client.get(f"{BASE}t_every/")
    assert r.status_code == 200
    body = text(r)
    for expected in ("测试全部字段", "持有驾驶证。", "机动车驾驶证", "免提交", "运输合同", "测试依据", "请如实填写。",
                     "2个工作日", "¥10.00", "机动车行驶证工本费", "发改价格〔2004〕2831号", "在线申请", "受理", "审批"):
        assert expected in body, expected
    assert f'href="{BASE}t_every/apply/"' in r.content.decode()
    # an unlisted service is still reachable by code; an unknown one is a 404
    assert client.get(f"{BASE}sample/").status_code == 200
    assert client.get(f"{BASE}no_such/").status_code == 404


def test_guide_tells_auto_approval_approve_first_and_outputs(client):
    body = text(client.get(f"{BASE}t_auto/"))
    assert "自动审批" in body and "电子许可证" in body and "免费" in body
    assert "先批后审" in text(client.get(f"{BASE}t_urgent/"))
    assert "邮寄送达" in text(client.get(f"{BASE}t_post/"))


def test_english(client, me):
    r = client.get(BASE, **EN)
    body = text(r)
    assert "Online services" in body and "Test every field" in body and "Search" in body
    body = text(client.get(f"{BASE}t_every/", **EN))
    assert "Service guide" in body and "Apply online" in body and "No need to submit" in body
    assert "2 working days" in body and "Legal basis" in body
    body = text(client.get(f"{BASE}t_every/apply/", **EN))
    assert "Plate number" in body and "Save draft" in body and "Continue: check your answers" in body
    assert "Already held by the platform" in body
    body = text(client.get(f"{BASE}mine/", **EN))
    assert "My applications" in body


# --- access ------------------------------------------------------------------------------------------------------


def test_login_needed_except_for_the_catalogue_and_guides(client):
    assert client.get(BASE).status_code == 200
    assert client.get(f"{BASE}t_every/").status_code == 200
    for path in ("t_every/apply/", "mine/", "mine/1/", "mine/1/edit/", "mine/1/check/"):
        r = client.get(BASE + path)
        assert r.status_code == 302 and r["Location"].startswith("/login/?next="), path


def test_staff_go_to_the_console(client):
    client.force_login(staff("clerk"))
    assert client.get(f"{BASE}t_every/apply/")["Location"] == "/console/"
    assert "工作人员账户不能申请办事" in text(client.get(f"{BASE}t_every/"))  # staff see the guide, no button


def test_another_persons_application_is_404(client, me):
    other = make_citizen()
    app = services.application_draft_create(user=other, service_code="t_every", data={"plate": "粤BA1234"})
    services.material_upload(user=other, application_id=app.pk, slot="contract", filename="c.pdf", content=PDF[:900])
    m = Material.objects.get(application=app)
    for path in ("", "edit/", "check/", "withdraw/", f"materials/{m.pk}/"):
        assert client.get(f"{BASE}mine/{app.pk}/{path}").status_code == 404, path
    for path in ("edit/", "submit/", "withdraw/", f"materials/{m.pk}/remove/"):
        assert client.post(f"{BASE}mine/{app.pk}/{path}", {"plate": "粤BB0000"}).status_code == 404, path
    assert client.get(f"{BASE}mine/999999/").status_code == 404
    app.refresh_from_db()
    assert app.form()["plate"] == "粤BA1234" and Material.objects.filter(application=app).count() == 1


def test_enterprise_only_service_is_refused_to_citizens(client, me):
    body = text(client.get(f"{BASE}t_ent/"))
    assert "本事项仅限企业申请" in body
    r = client.get(f"{BASE}t_ent/apply/")
    assert r.status_code == 403 and "本事项仅限企业申请" in text(r)
    r = client.post(f"{BASE}t_ent/apply/", {"idempotency_key": "k" * 20})
    assert r.status_code == 403 and not Application.objects.exists()


def test_an_enterprise_applies_for_an_enterprise_service(client):
    from jiaoguan.identity.models import Enterprise, User

    ent = Enterprise.objects.create(name="深圳市测试停车场有限公司", uscc="91440300MA5DXXXX0X", created_at=core_clock.now())
    company = User.objects.create_user(username="ent-page", role="enterprise", enterprise=ent)
    client.force_login(company)
    r = start(client, "t_ent", {})
    assert r.status_code == 302
    app = only_app(company)
    assert app.enterprise_id == ent.pk
    assert client.get(f"{BASE}t_standard/apply/").status_code == 403  # a citizens' service


# --- the form, draft save and resume ---------------------------------------------------------------------------


def test_the_form_has_every_field_type_and_shows_held_materials(client, me):
    r = client.get(f"{BASE}t_every/apply/")
    html = r.content.decode()
    assert 'name="plate"' in html and 'type="date"' in html and 'name="travel_date"' in html
    assert f'min="{tomorrow()}"' in html
    assert 'type="radio"' in html and 'name="zone"' in html  # few choices: radio buttons
    assert '<select name="district"' in html  # many: a list
    assert 'type="number"' in html and 'type="checkbox"' in html and "<textarea" in html
    assert 'name="upload__photo"' in html and 'name="upload__contract"' in html
    body = text(r)
    assert "已由平台获取" in body and "机动车驾驶证（准驾车型C1" in body
    assert 'name="upload__licence"' not in html  # held: no upload asked
    assert "用途说明" in body and "简要说明。" in body


def test_without_a_held_licence_the_upload_is_asked(client):
    user = make_citizen(licence=False)
    client.force_login(user)
    html = client.get(f"{BASE}t_every/apply/").content.decode()
    assert 'name="upload__licence"' in html and "平台未查到您的记录" in html


def test_save_a_draft_and_resume(client, me):
    r = start(client, "t_every", every_answers(driver_id="110101199003074514"), upload__contract=pdf())
    app = only_app(me)
    assert r.status_code == 302 and r["Location"] == f"{BASE}mine/{app.pk}/edit/"
    assert app.status == "draft" and app.form()["plate"] == "粤BA1234" and app.form()["promise"] is True
    assert Material.objects.filter(application=app, slot="contract").count() == 1
    r = client.get(r["Location"])
    body = text(r)
    html = r.content.decode()
    assert "草稿已保存" in body and 'value="粤BA1234"' in html and "contract.pdf" in body
    # ID numbers and phones are never shown unmasked, not even to their owner; an empty input keeps them
    assert "110101199003074514" not in html and "13800138000" not in html
    assert "1101**********4514" in body and "138****8000" in body
    client.post(f"{BASE}mine/{app.pk}/edit/", {**every_answers(driver_id="", contact="", trips="3"), "go": "save"})
    app.refresh_from_db()
    assert app.form()["driver_id"] == "110101199003074514" and app.form()["contact"] == "13800138000"
    assert app.form()["trips"] == "3"
    # my applications: the draft, to resume
    body = text(client.get(f"{BASE}mine/"))
    assert "测试全部字段" in body and "草稿" in body and "继续填写" in body
    # the empty form of the same service points to the draft
    assert "您有未提交的草稿" in text(client.get(f"{BASE}t_every/apply/"))


def test_a_double_click_on_the_first_save_makes_one_draft(client, me):
    page = client.get(f"{BASE}t_every/apply/")
    data = {**every_answers(), "idempotency_key": key(page), "go": "save"}
    first = client.post(f"{BASE}t_every/apply/", data)
    second = client.post(f"{BASE}t_every/apply/", data)
    assert first.status_code == second.status_code == 302
    assert Application.objects.filter(applicant=me).count() == 1


def test_continue_with_errors_keeps_the_draft_and_the_values(client, me):
    r = start(client, "t_every", every_answers(plate="粤Z", trips="99", promise=None, travel_date="2020-01-01"))
    app = only_app(me)
    r = client.post(f"{BASE}mine/{app.pk}/edit/", {**every_answers(plate="粤Z", trips="99", promise=None,
                                                                   travel_date="2020-01-01"), "go": "check"})
    assert r.status_code == 422
    body = text(r)
    assert "草稿已保存" in body and "请勾选此项" in body and "不能早于" in body and "上传“运输合同”" in body
    assert 'value="粤Z"' in r.content.decode() and 'value="99"' in r.content.decode()
    app.refresh_from_db()
    assert app.status == "draft" and app.form()["trips"] == "99"


def test_a_tampered_choice_is_refused_and_nothing_changes(client, me):
    start(client, "t_every", every_answers())
    app = only_app(me)
    r = client.post(f"{BASE}mine/{app.pk}/edit/", {**every_answers(zone="hacked", purpose="改了"), "go": "save"})
    assert r.status_code == 422 and "草稿保持不变" in text(r)
    app.refresh_from_db()
    assert app.form()["zone"] == "ns" and app.form()["purpose"] == "运送建材"


# --- uploads -----------------------------------------------------------------------------------------------------


def test_wrong_file_type_is_refused_with_a_message_and_the_draft_kept(client, me):
    r = start(client, "t_every", every_answers(purpose="第一次"),
              upload__contract=SimpleUploadedFile("fake.pdf", GIF, content_type="application/pdf"))
    assert r.status_code == 422
    body = text(r)
    assert "“运输合同”只接受PDF文件" in body and "草稿已保存" in body
    app = only_app(me)
    assert app.form()["purpose"] == "第一次" and not Material.objects.filter(application=app).exists()
    # the page now posts to the draft, so fixing it does not make a second one
    assert f'action="{BASE}mine/{app.pk}/edit/"' in r.content.decode()


def test_an_oversized_file_is_refused_with_a_message_and_the_draft_kept(client, me):
    start(client, "t_every", every_answers())
    app = only_app(me)
    big = pdf(content=b"%PDF-1.4\n" + b"0" * 5000)  # contract: at most 1 KB
    r = client.post(f"{BASE}mine/{app.pk}/edit/", {**every_answers(purpose="第二次"), "upload__contract": big,
                                                   "go": "save"})
    assert r.status_code == 422 and "“运输合同”文件不能超过1 KB" in text(r)
    app.refresh_from_db()
    assert app.form()["purpose"] == "第二次" and not Material.objects.filter(application=app).exists()


def test_uploads_are_listed_downloadable_and_removable(client, me):
    start(client, "t_every", every_answers(), upload__photo=SimpleUploadedFile("car.png", PNG, "image/png"))
    app = only_app(me)
    m = Material.objects.get(application=app, slot="photo")
    r = client.get(f"{BASE}mine/{app.pk}/materials/{m.pk}/")
    assert r.status_code == 200 and r["Content-Type"] == "image/png" and b"".join(r.streaming_content) == PNG
    r = client.post(f"{BASE}mine/{app.pk}/materials/{m.pk}/remove/")
    assert r.status_code == 302 and not Material.objects.filter(pk=m.pk).exists()


def test_too_many_files_for_a_slot(client, me):
    start(client, "t_every", every_answers(), upload__contract=pdf())
    app = only_app(me)
    r = client.post(f"{BASE}mine/{app.pk}/edit/", {**every_answers(), "upload__contract": pdf("second.pdf"),
                                                   "go": "save"})
    assert r.status_code == 422 and "最多上传1个文件" in text(r)


# --- check and submit ----------------------------------------------------------------------------------------


def ready(client, me, **over) -> Application:
    start(client, "t_every", every_answers(**over), upload__contract=pdf())
    return only_app(me)


def test_check_answers_then_submit_once(client, me):
    app = ready(client, me, driver_id="110101199003074514")
    r = client.post(f"{BASE}mine/{app.pk}/edit/", {**every_answers(driver_id=""), "go": "check"})
    assert r.status_code == 302 and r["Location"] == f"{BASE}mine/{app.pk}/check/"
    r = client.get(r["Location"])
    body = text(r)
    assert "核对信息" in body and "Check your answers" not in body  # one language per page
    assert "粤BA1234" in body and "南山区" in body and "Nanshan" not in body and "本人承诺所填信息真实 是" in body
    assert "1101**********4514" in body
    assert "110101199003074514" not in r.content.decode()
    assert "已由平台获取" in body and "contract.pdf" in body and "确认提交" in body
    k = key(r)
    first = client.post(f"{BASE}mine/{app.pk}/submit/", {"idempotency_key": k})
    second = client.post(f"{BASE}mine/{app.pk}/submit/", {"idempotency_key": k})  # a double click
    assert first.status_code == second.status_code == 302
    assert second["Location"] == f"{BASE}mine/{app.pk}/"
    app.refresh_from_db()
    assert app.status == "awaiting_payment" and app.reference  # t_every charges the ¥10 vehicle-licence fee
    assert app.events.filter(action="submit").count() == 1
    body = text(client.get(first["Location"]))
    assert "申请已提交" in body and app.reference in body and "待缴费" in body and "提交申请" in body
    assert "机动车行驶证工本费" in body and "¥10.00" in body and "去缴费" in body and "缴费期限" in body
    # no longer editable
    r = client.get(f"{BASE}mine/{app.pk}/edit/")
    assert r.status_code == 302 and r["Location"] == f"{BASE}mine/{app.pk}/"


def test_submit_without_a_key_is_refused_and_nothing_submitted(client, me):
    app = ready(client, me)
    r = client.post(f"{BASE}mine/{app.pk}/submit/", {})
    assert r.status_code == 422 and "Idempotency-Key" in text(r)
    app.refresh_from_db()
    assert app.status == "draft"


def test_submit_with_missing_answers_returns_to_the_form(client, me):
    start(client, "t_every", every_answers(plate=""))
    app = only_app(me)
    r = client.post(f"{BASE}mine/{app.pk}/submit/", {"idempotency_key": "k" * 20})
    assert r.status_code == 422
    body = text(r)
    assert "此项必填" in body and "上传“运输合同”" in body and "草稿已保存" in body
    app.refresh_from_db()
    assert app.status == "draft"


def test_an_unverified_account_is_told_before_the_form(client):
    """Real-name verification is known before any answer: the entry says so instead of offering the form."""
    user = make_citizen(verified=False)
    client.force_login(user)
    assert "请先完成实名认证再申请" in text(client.get(f"{BASE}sample/"))
    r = client.get(f"{BASE}sample/apply/")
    assert "请先完成实名认证再申请" in text(r) and 'class="app-form' not in r.content.decode()
    r = client.post(f"{BASE}sample/apply/", {"plate": "粤BA1234", "idempotency_key": "k" * 20})
    assert "请先完成实名认证再申请" in text(r) and not Application.objects.filter(applicant=user).exists()


def test_eligibility_refusals_are_shown_clearly(client):
    user = make_citizen()
    client.force_login(user)
    page = client.get(f"{BASE}sample/apply/")
    data = {"plate": "粤BA1234", "urgency": "normal", "start_date": tomorrow(), "trips": "1",
            "contact_phone": "13800138000", "route_map": ""}
    client.post(f"{BASE}sample/apply/", {**data, "upload__route_map": pdf("map.pdf"), "go": "save",
                                         "idempotency_key": key(page)})
    app = only_app(user)
    user.real_name_verified_at = None  # lost after the draft was started: the check page still says why
    user.save(update_fields=["real_name_verified_at"])
    r = client.get(f"{BASE}mine/{app.pk}/check/")
    body = text(r)
    assert "您暂不符合申请条件" in body and "请先完成实名认证再申请" in body
    r = client.post(f"{BASE}mine/{app.pk}/submit/", {"idempotency_key": "k" * 20})
    assert r.status_code == 422 and "请先完成实名认证再申请" in text(r)
    app.refresh_from_db()
    assert app.status == "draft"


def test_auto_approval_links_the_e_permit(client, me):
    start(client, "t_auto", {"purpose": "自用"})
    app = only_app(me)
    page = client.get(f"{BASE}mine/{app.pk}/check/")
    r = client.post(f"{BASE}mine/{app.pk}/submit/", {"idempotency_key": key(page)})
    app.refresh_from_db()
    assert app.status == "approved"
    number = app.outcome["e_permit"]["number"]
    body = text(client.get(r["Location"]))
    assert "已批准" in body and "电子许可证已发放" in body and "自动批准" in body
    assert f'href="/credentials/{number}/"' in client.get(r["Location"]).content.decode()


# --- after submission: timeline, send-back, result, withdraw ----------------------------------------------------


def submitted_standard(client, me) -> Application:
    start(client, "t_standard", {"plate": "粤BA1234", "phone": ""})
    app = only_app(me)
    page = client.get(f"{BASE}mine/{app.pk}/check/")
    client.post(f"{BASE}mine/{app.pk}/submit/", {"idempotency_key": key(page)})
    app.refresh_from_db()
    assert app.status == "submitted"
    return app


def test_send_back_correct_and_resubmit(client, me, clock):
    clock.freeze(dt.datetime(2026, 11, 23, 10, 0))
    app = submitted_standard(client, me)
    clerk, approver = staff("clerk"), staff("approver")
    services.application_accept(application_id=app.pk, actor=actor(clerk))
    services.application_send_back(application_id=app.pk, actor=actor(approver), comment="号牌号码与行驶证不一致，请核对")
    r = client.get(f"{BASE}mine/{app.pk}/")
    body = text(r)
    assert "退回补正" in body and "号牌号码与行驶证不一致，请核对" in body and "暂停计时" in body
    assert "修改并重新提交" in body
    r = client.get(f"{BASE}mine/{app.pk}/edit/")
    assert "号牌号码与行驶证不一致，请核对" in text(r) and 'value="粤BA1234"' in r.content.decode()
    r = client.post(f"{BASE}mine/{app.pk}/edit/", {"plate": "粤BB5678", "phone": "", "go": "check"})
    assert r.status_code == 302
    r = client.get(r["Location"])
    body = text(r)
    assert "粤BB5678" in body and "重新提交" in body and "补正说明" in body
    r = client.post(f"{BASE}mine/{app.pk}/submit/", {"idempotency_key": key(r), "comment": "已更正号牌"})
    app.refresh_from_db()
    assert app.status == "under_review" and app.form()["plate"] == "粤BB5678"
    body = text(client.get(r["Location"]))
    assert "补正材料已重新提交" in body and "补正后重新提交" in body and "已更正号牌" in body
    # the timeline: every public step, in order
    steps = [s for s in ("提交申请", "受理", "退回补正", "补正后重新提交") if s in body]
    assert steps == ["提交申请", "受理", "退回补正", "补正后重新提交"]
    services.application_approve(application_id=app.pk, actor=actor(approver))
    body = text(client.get(f"{BASE}mine/{app.pk}/"))
    assert "已批准" in body and "批准" in body


def test_my_applications_list_status_reference_and_due_date(client, me, clock):
    clock.freeze(dt.datetime(2026, 11, 23, 10, 0))
    app = submitted_standard(client, me)
    services.application_accept(application_id=app.pk, actor=actor(staff("clerk")))
    app.refresh_from_db()
    body = text(client.get(f"{BASE}mine/"))
    assert app.reference in body and "审核中" in body and "2026-11-26" in body
    assert app.reference in text(client.get(f"{BASE}mine/", {"tab": "open"}))
    assert app.reference not in text(client.get(f"{BASE}mine/", {"tab": "done"}))
    assert "办结期限" in text(client.get(f"{BASE}mine/{app.pk}/"))


def test_withdraw(client, me):
    app = submitted_standard(client, me)
    r = client.get(f"{BASE}mine/{app.pk}/withdraw/")
    assert r.status_code == 200 and "确定撤回" in text(r)
    r = client.post(f"{BASE}mine/{app.pk}/withdraw/", {"comment": "不需要了"})
    assert r.status_code == 302
    app.refresh_from_db()
    assert app.status == "withdrawn"
    body = text(client.get(r["Location"]))
    assert "申请已撤回" in body and "不需要了" in body and "撤回申请" not in body.replace("申请已撤回", "")
    # a decided application cannot be withdrawn: back to its page
    assert client.get(f"{BASE}mine/{app.pk}/withdraw/").status_code == 302
    r = client.post(f"{BASE}mine/{app.pk}/withdraw/")
    assert r.status_code == 409 and "不能撤回" in text(r)


def test_refusal_and_rejection_show_the_reason(client, me):
    app = submitted_standard(client, me)
    services.application_refuse(application_id=app.pk, actor=actor(staff("clerk")), comment="材料与本事项无关")
    body = text(client.get(f"{BASE}mine/{app.pk}/"))
    assert "不予受理" in body and "材料与本事项无关" in body


def test_result_sent_by_post_shows_the_tracking_number(client, me):
    start(client, "t_post", {"recipient_name": "王小明", "recipient_phone": "13800138000",
                             "address": "广东省深圳市福田区福华路1号"})
    app = only_app(me)
    page = client.get(f"{BASE}mine/{app.pk}/check/")
    client.post(f"{BASE}mine/{app.pk}/submit/", {"idempotency_key": key(page)})
    services.application_accept(application_id=app.pk, actor=actor(staff("clerk")))
    services.application_approve(application_id=app.pk, actor=actor(staff("approver")))
    app.refresh_from_db()
    tracking = app.outcome["post"]["tracking_number"]
    assert tracking
    r = client.get(f"{BASE}mine/{app.pk}/")
    body = text(r)
    assert "办理结果" in body and tracking in body and "邮寄状态" in body and "机动车驾驶证" in body
    assert "13800138000" not in body and "王*明" in body  # phone and recipient masked


def test_every_declared_service_has_a_guide_and_a_form(client, me, test_catalogue):
    """The real services (catalogue/*.toml) and the test ones: each guide and each empty form renders, in both
    languages; a service citizens may not apply for says so."""
    for service in test_catalogue.services.values():
        for extra in ({}, EN):
            assert client.get(f"{BASE}{service.code}/", **extra).status_code == 200, service.code
            r = client.get(f"{BASE}{service.code}/apply/", **extra)
            assert r.status_code == (200 if "citizen" in service.applicants else 403), service.code
