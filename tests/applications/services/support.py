"""Test data for the delivered services: enterprise accounts, registry trucks, hospital health checks, and a
helper that drafts, uploads and submits in one call."""
from __future__ import annotations

import datetime as dt
import itertools

from jiaoguan.applications import services
from jiaoguan.applications.models import Application
from jiaoguan.core import clock
from tests.applications.support import PDF, PNG, actor, citizen, staff  # noqa: F401
from tests.factories import make_policy, make_vehicle

_seq = itertools.count(1)
_USCC_BODIES = itertools.count(1)


def enterprise_user(name: str = "深圳市测试物流有限公司"):
    from jiaoguan.core.identifiers import make_uscc
    from jiaoguan.identity.models import Enterprise, User

    n = next(_USCC_BODIES)
    uscc = make_uscc(f"91440300MA5{n:06d}")
    ent = Enterprise.objects.create(name=f"{name}{n}", uscc=uscc, created_at=clock.now())
    return User.objects.create_user(username=f"ent{next(_seq):05d}", role="enterprise", enterprise=ent,
                                    real_name_verified_at=clock.now())


def truck(*, owner_user=None, kind: str = "truck", insured: bool = True, inspection_due: dt.date | None = None,
          status: str = "normal", plate: str | None = None):
    """A registry vehicle owned by the enterprise account's enterprise (or the citizen's person)."""
    from jiaoguan.registry.models import Vehicle

    today = clock.today()
    person = getattr(owner_user, "person", None) if getattr(owner_user, "role", "") != "enterprise" else None
    v = make_vehicle(owner=person, plate=plate, kind=kind, use="freight" if kind == "truck" else "private",
                     plate_type=Vehicle.PlateType.LARGE if kind == "truck" else Vehicle.PlateType.SMALL,
                     registered=today - dt.timedelta(days=200),
                     inspection_due=inspection_due or today + dt.timedelta(days=300), status=status)
    if getattr(owner_user, "role", "") == "enterprise":
        v.owner_uscc, v.owner_company = owner_user.enterprise.uscc, owner_user.enterprise.name
        v.save(update_fields=["owner_uscc", "owner_company"])
    if insured:
        make_policy(vehicle=v, starts_on=today - dt.timedelta(days=30), ends_on=today + dt.timedelta(days=330))
    return v


def hospital_check(person, *, days_ago: int = 3, number: str | None = None, result: str = "fit", **extra):
    from jiaoguan.registry.health import health_check_receive
    from jiaoguan.registry.models import Partner
    from tests.registry.health_support import make_hospital, record

    hospital = Partner.objects.filter(kind="hospital").first() or make_hospital()
    data = record(person, number=number or f"HC-T-{next(_seq):05d}",
                  examined_on=clock.today() - dt.timedelta(days=days_ago), result=result, **extra)
    data["examined_on"] = dt.date.fromisoformat(data["examined_on"])
    return health_check_receive(hospital=hospital, **data).health_check


def draft_with(user, service: str, data: dict, uploads: dict[str, bytes] | None = None) -> Application:
    app = services.application_draft_create(user=user, service_code=service, data=data)
    for slot, content in (uploads or {}).items():
        services.material_upload(user=user, application_id=app.pk, slot=slot, filename=f"{slot}.bin",
                                 content=content)
    return app


def submit(user, service: str, data: dict, uploads: dict[str, bytes] | None = None) -> Application:
    app = draft_with(user, service, data, uploads)
    return services.application_submit(user=user, application_id=app.pk)


def relief_form(**over) -> dict:
    """A relief-fund form: a ¥15,000 rescue advance asked for by the victim's spouse."""
    from tests.factories import unique_id_number

    data = {"applicant_relation": "spouse", "victim_name": "张伟", "victim_id_number": unique_id_number(),
            "accident_reference": "SZ2026-000123", "accident_date": "2026-11-10", "kind": "rescue_advance",
            "amount_fen": "1500000", "hospital": "深圳市人民医院", "bank_name": "中国工商银行", "account_holder": "王小明",
            "bank_account": "6222020200112233445", "contact_phone": "13912345678"}
    data.update(over)
    return data


def relief_application(user=None) -> Application:
    """A submitted relief-fund application (relief_form, with the bills and the proof of relationship)."""
    user = user or citizen()
    return submit(user, "relief_fund", relief_form(), {"medical_bills": PDF, "relationship_proof": PDF})


def approve_standard(app, clerk=None, approver=None) -> Application:
    clerk, approver = clerk or staff("clerk"), approver or staff("approver")
    services.application_accept(application_id=app.pk, actor=actor(clerk))
    return services.application_approve(application_id=app.pk, actor=actor(approver))


def credential_of(app, name: str):
    from jiaoguan.credentials.models import Credential

    return Credential.objects.get(pk=app.outcome[name]["credential_id"])


def fields_of(credential) -> dict[str, str]:
    return {f["zh"]: f["value"] for f in credential.fields}


def reasons(exc) -> dict[str, tuple[str, str]]:
    """The refusal codes of an Ineligible error -> (zh, en)."""
    return {k.removeprefix("eligibility."): v for k, v in exc.fields.items()}


def pay_fee(app, *, deliver: bool = True, at: str = "submission") -> Application:
    """Pay an application's fee (of phase ``at``) as the applicant would: an order, the channel simulator's page,
    its signed callback; then (``deliver``) the applications app's outbox handler, which moves the application on."""
    from jiaoguan.applications.rules import fee_source_id
    from jiaoguan.core.audit import Actor
    from jiaoguan.core.models import OutboxEvent
    from jiaoguan.core.outbox import event_deliver
    from jiaoguan.payments import selectors as payments_selectors
    from jiaoguan.payments import services as payments
    from jiaoguan.payments import simulator
    from jiaoguan.payments.models import SimTrade

    item = payments_selectors.payable_for_source(source_type=services.FEE_SOURCE, source_id=fee_source_id(app.pk, at))
    assert item is not None, "the application has no fee to pay"
    user = app.applicant
    payer = Actor.of(user)
    order = payments.order_create(payer_person_id=user.person_id, item_ids=[item.pk], actor=payer)
    payments.order_pay(order=order, actor=payer)
    trade = SimTrade.objects.get(out_trade_no=order.reference)
    simulator.sim_trade_confirm(token=trade.token)
    trade.refresh_from_db()
    body, headers = simulator.sim_callback(trade, "paid")
    payments.callback_receive(channel="sim", body=body, headers=headers)
    if deliver:
        for event in OutboxEvent.objects.filter(topic="payments.item_settled", delivered_at__isnull=True,
                                                handler="jiaoguan.applications.handlers:on_fee_settled"):
            event_deliver(event.pk)
    return Application.objects.get(pk=app.pk)
