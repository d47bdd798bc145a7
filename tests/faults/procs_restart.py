"""What the fault tests run inside a separate Django process (tests.processes.DjangoProcess) working on the private
cluster: set up a booking rush and payers, and count what happened afterwards. JSON in, JSON out."""
from __future__ import annotations

import datetime as dt
import importlib
from typing import Any


def seed(*, citizens: int, seats: int, payers: int) -> dict[str, Any]:
    """A counter slot of ``seats`` public seats and ``citizens`` citizens with bearer tokens to rush it; ``payers``
    citizens (with a registry person) owing two fines each: the first already paid at the simulator channel (its
    signed "paid" callback is handed back, still to be delivered), the second unpaid (to be ordered over the API)."""
    # the reference rows migrations seed (conftest.RESEEDED): a test database reused after a flush may lack them
    from django.apps import apps

    from jiaoguan.bookings import services as engine
    from jiaoguan.core import clock
    from jiaoguan.core.audit import Actor
    from jiaoguan.counters import services as counters
    from jiaoguan.identity.models import User
    from jiaoguan.identity.services.tokens import token_issue
    from jiaoguan.notifications.services import message_templates_seed
    from jiaoguan.payments import services as payments
    from jiaoguan.payments import simulator
    from jiaoguan.payments.models import SimTrade
    from tests.factories import make_person

    message_templates_seed()
    for module, function in (("jiaoguan.violations.migrations.0002_load_codes", "load"),
                             ("jiaoguan.bookings.migrations.0002_default_penalty_rules", "seed"),
                             ("jiaoguan.counters.migrations.0002_default_services", "load")):
        getattr(importlib.import_module(module), function)(apps, None)

    actor = Actor.system("faults")
    now = clock.now()
    office = counters.office_create(code="FAULT", name_zh="故障演练车管所", name_en="Fault drill office",
                                    address_zh="深圳市福田区", actor=actor)
    service = counters.office_service_add(office=office, service_code="licence", windows=1, actor=actor)
    start = now + dt.timedelta(days=2)
    slot = engine.slot_create(resource=service.resource, starts_at=start, ends_at=start + dt.timedelta(minutes=30),
                              actor=actor, quotas=[engine.QuotaSpec(name="public", capacity=seats)])
    rush = []
    for i in range(citizens):
        user = User.objects.create(username=f"fault{i:05d}", role="citizen", password="!",
                                   real_name_verified_at=now, date_joined=now)
        rush.append({"user_id": user.pk, "token": token_issue(user=user)})
    owing = []
    for i in range(payers):
        person = make_person()
        user = User.objects.create(username=f"faultpayer{i:04d}", role="citizen", password="!", person=person,
                                   real_name_verified_at=now, date_joined=now)
        items = [payments.payable_create(kind="fine", source_type="faults.decision", source_id=f"F{i}-{k}",
                                         payer_person_id=person.pk, amount_fen=20000 + 100 * k + i,
                                         description_zh="闯红灯罚款", description_en="Fine for running a red light")
                 for k in (1, 2)]
        order = payments.order_create(payer_person_id=person.pk, item_ids=[items[0].pk], actor=actor)
        payments.order_pay(order=order, actor=actor)
        trade = simulator.sim_trade_confirm(token=SimTrade.objects.get(out_trade_no=order.reference).token)
        body, headers = simulator.sim_callback(trade, "paid")
        owing.append({"person_id": person.pk, "token": token_issue(user=user), "paid_order": order.reference,
                      "callback_body": body.decode(), "callback_headers": headers, "unpaid_item": items[1].pk})
    return {"slot_id": slot.pk, "rush": rush, "payers": owing}


def outcome(*, slot_id: int, payers: list[dict[str, Any]]) -> dict[str, Any]:
    """What the database holds after the drill: bookings per user and per quota, orders and payments per payer,
    settlement audit rows, and whether the audit chain verifies."""
    from django.db.models import Count

    from jiaoguan.bookings.models import LIVE_BOOKING, Booking, Quota
    from jiaoguan.core.audit import audit_seal_all, audit_verify
    from jiaoguan.core.models import AuditEntry
    from jiaoguan.payments.models import Order, OrderLine, Payment

    quotas = list(Quota.objects.filter(slot_id=slot_id).values_list("pk", "capacity"))
    live = Booking.objects.filter(quota__slot_id=slot_id, status__in=LIVE_BOOKING)
    per_user = dict(live.values("user_id").order_by().annotate(n=Count("id")).values_list("user_id", "n"))
    per_quota = dict(live.values("quota_id").order_by().annotate(n=Count("id")).values_list("quota_id", "n"))
    result: dict[str, Any] = {
        "capacity": sum(c for _, c in quotas),
        "live_bookings": sum(per_quota.values()),
        "oversold": sum(max(0, per_quota.get(q, 0) - c) for q, c in quotas),
        "bookings_per_user": {str(k): v for k, v in per_user.items()},
        "payers": {},
    }
    for p in payers:
        orders_of_unpaid = OrderLine.objects.filter(item_id=p["unpaid_item"]).values_list("order__reference", flat=True)
        paid = Order.objects.get(reference=p["paid_order"])
        result["payers"][str(p["person_id"])] = {
            "orders_for_unpaid_item": sorted(orders_of_unpaid),
            "paid_order_status": paid.status,
            "payments": Payment.objects.filter(order=paid).count(),
            "settle_audits": AuditEntry.objects.filter(action="payment.settle",
                                                       object_id__in=[str(x) for x in Payment.objects.filter(
                                                           order=paid).values_list("pk", flat=True)]).count(),
        }
    audit_seal_all()  # what the periodic sealer would have done by now: the whole log is verified sealed
    verdict = audit_verify()
    result["audit_ok"] = bool(verdict.ok)
    result["audit_entries"] = AuditEntry.objects.count()
    return result
