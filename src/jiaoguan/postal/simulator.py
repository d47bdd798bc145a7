"""A local postal carrier for development and tests, with its own ledger (SimParcel).

It behaves like a real one: we book an item under our reference and get an S10 tracking number back (booking the
same reference again returns the same number); the parcel's progress reaches us later as signed callbacks
(carriers.signed_headers: key id, timestamp, nonce, HMAC-SHA256) to /api/v1/postal/callbacks/sim, delivered by
a Celery task after commit (eager without a broker). The parcel moves when someone drives it:
``simulator_advance(tracking_number, to="delivered")`` (or ``manage.py postal_sim_advance``) walks it through
every step up to ``to`` and sends one callback per step.

It stands apart from the postal app, as a carrier would: the app reaches it only through its carrier interface
(``SimulatorCarrier`` below, named in JIAOGUAN_POSTAL_CARRIER_ADAPTERS). Its Celery task (callbacks) is defined
here.

Settings: JIAOGUAN_POSTAL_SIM_KEY_ID / JIAOGUAN_POSTAL_SIM_KEY (signing key), JIAOGUAN_POSTAL_SIM_NOTIFY_URL
(deliver callbacks over HTTP to this URL; empty = in-process, straight to the service the endpoint calls),
JIAOGUAN_POSTAL_SIM_AUTO_NOTIFY (False: callbacks are only built and returned, so tests can deliver them late,
twice or out of order), JIAOGUAN_POSTAL_SIM_SERVICE (the two service letters), JIAOGUAN_POSTAL_SIM_PREVIOUS_KEYS (key rotation).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import urllib.request

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, transaction

from jiaoguan.core import clock, locks
from jiaoguan.core.errors import Conflict, InvalidInput, NotFound
from jiaoguan.core.i18n import bi
from jiaoguan.postal import rules
from jiaoguan.postal.carriers import CarrierEvent, CarrierParcel, parse_event, signed_headers, verify_signed
from jiaoguan.postal.models import SimParcel
from jiaoguan.postal.services import callback_receive
from jiaoguan.postal.tracking import make_tracking_number, validate_tracking_number

log = logging.getLogger(__name__)


def sim_key_id() -> str:
    return str(settings.JIAOGUAN_POSTAL_SIM_KEY_ID)


def sim_keys() -> dict[str, str]:
    """Key ids the simulator's callbacks may be signed with: the current one and any previous ones
    (JIAOGUAN_POSTAL_SIM_PREVIOUS_KEYS, a dict) still accepted during a rotation."""
    keys = dict(settings.JIAOGUAN_POSTAL_SIM_PREVIOUS_KEYS or {})
    keys[sim_key_id()] = str(settings.JIAOGUAN_POSTAL_SIM_KEY)
    return keys

# the route a parcel takes; "returned" replaces "delivered" when delivery fails
ROUTE = (rules.ACCEPTED, rules.IN_TRANSIT, rules.OUT_FOR_DELIVERY)
PLACES = {rules.ACCEPTED: "深圳市福田区邮政揽投部", rules.IN_TRANSIT: "深圳邮件处理中心",
          rules.OUT_FOR_DELIVERY: "收件地址所在揽投部", rules.DELIVERED: "收件地址", rules.RETURNED: "深圳市福田区邮政揽投部"}


def sim_book(*, reference: str, item: str) -> str:
    """Accept a booking; returns its tracking number. The same reference again returns the same number."""
    if not reference:
        raise InvalidInput("postal.sim_reference", "缺少交寄编号", "The booking reference is missing", field="reference")
    existing = SimParcel.objects.filter(reference=reference).first()
    if existing is not None:
        return existing.tracking_number
    service = str(settings.JIAOGUAN_POSTAL_SIM_SERVICE)
    for _ in range(10):
        number = make_tracking_number(service=service, serial=secrets.randbelow(10**8))
        try:
            with transaction.atomic():
                now = clock.now()
                SimParcel.objects.create(reference=reference, tracking_number=number, item=item[:100],
                                         created_at=now, updated_at=now)
                return number
        except IntegrityError:  # the same reference booked at the same moment, or a serial already taken
            existing = SimParcel.objects.filter(reference=reference).first()
            if existing is not None:
                return existing.tracking_number
    raise Conflict("postal.sim_numbers", "模拟承运方无法分配邮件号", "The simulator could not allocate a tracking number")


def sim_query(*, reference: str) -> CarrierParcel | None:
    parcel = SimParcel.objects.filter(reference=reference).first()
    if parcel is None:
        return None
    return CarrierParcel(reference=parcel.reference, tracking_number=parcel.tracking_number, status=parcel.status)


def sim_callback(parcel: SimParcel, status: str, *, occurred_at: dt.datetime | None = None, event_id: str = "",
                 key_id: str | None = None, secret: str | None = None, nonce: str | None = None,
                 timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """The signed callback the simulator sends when ``parcel`` reaches ``status``: (body, headers)."""
    payload = {
        "event_id": event_id or f"SIM{secrets.token_hex(8).upper()}",
        "reference": parcel.reference,
        "tracking_number": parcel.tracking_number,
        "status": status,
        "occurred_at": clock.isoformat(occurred_at or clock.now()),
        "location": PLACES.get(status, ""),
        "note": "",
    }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    key_id = key_id or sim_key_id()
    secret = secret if secret is not None else sim_keys()[sim_key_id()]
    return body, signed_headers(key_id=key_id, secret=secret, body=body, nonce=nonce or secrets.token_hex(12),
                                timestamp=timestamp)


def simulator_advance(tracking_number: str, *, to: str) -> list[tuple[bytes, dict[str, str]]]:
    """Drive a parcel forward to ``to`` (a carrier status), through every step it has not reached yet, and send
    one signed callback per step after commit (unless JIAOGUAN_POSTAL_SIM_AUTO_NOTIFY is off). Returns the
    callbacks, in order. A parcel already at or past ``to`` sends nothing."""
    number = validate_tracking_number(tracking_number)
    if to not in rules.CARRIER_STATUSES:
        raise InvalidInput("postal.sim_status", "不支持的邮件状态", "Unknown parcel status", field="to")
    with transaction.atomic():
        rows = locks.lock_rows(SimParcel.objects.filter(tracking_number=number))
        parcel = rows[0] if rows else None
        if parcel is None:
            raise NotFound("postal.sim_parcel_unknown", "邮件不存在", "No such parcel")
        if parcel.status in rules.FINAL and parcel.status != to:
            raise Conflict("postal.sim_parcel_final", "该邮件已妥投或已退回", "This parcel is already delivered or returned")
        steps = [s for s in ROUTE if rules.RANK[parcel.status] < rules.RANK[s] <= rules.RANK[to]]
        if to in rules.FINAL and parcel.status != to:
            steps.append(to)
        if not steps:
            return []
        now = clock.now()
        callbacks = [sim_callback(parcel, s, occurred_at=now + dt.timedelta(milliseconds=i))  # in route order
                     for i, s in enumerate(steps)]
        parcel.status = steps[-1]
        parcel.updated_at = now
        parcel.save(update_fields=["status", "updated_at"])
        if settings.JIAOGUAN_POSTAL_SIM_AUTO_NOTIFY:
            transaction.on_commit(lambda: _send(callbacks))
        return callbacks


def _send(callbacks: list[tuple[bytes, dict[str, str]]]) -> None:
    for body, headers in callbacks:
        try:
            sim_notify.delay(body.decode("utf-8"), headers)
        except Exception:  # a carrier retries; here the timeline simply waits for the next event
            log.exception("could not queue postal simulator callback")


def sim_deliver(body: bytes, headers: dict[str, str]) -> str:
    """Deliver one callback: over HTTP when JIAOGUAN_POSTAL_SIM_NOTIFY_URL is set, else in-process."""
    url = settings.JIAOGUAN_POSTAL_SIM_NOTIFY_URL
    if url:
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read().decode("utf-8")).get("result", "")
    return callback_receive(carrier="sim", body=body, headers=headers)


# --- its Celery task (name unchanged since it lived in postal/tasks.py) ---------------------------------------------

@shared_task(name="postal.sim_notify", ignore_result=True, autoretry_for=(OSError,), retry_backoff=5, max_retries=5)
def sim_notify(body: str, headers: dict) -> None:
    sim_deliver(body.encode("utf-8"), headers)


# --- its adapter: the app's side of the "sim" carrier ---------------------------------------------------------------

class SimulatorCarrier:
    """Adapter for the local simulator. It calls the simulator's functions where a real adapter would make
    HTTPS requests; callbacks come back over HTTP (or in-process) to /api/v1/postal/callbacks/sim."""

    name = "sim"
    label = bi("模拟邮政", "Simulator")

    def book(self, *, reference: str, recipient_name: str, recipient_phone: str, address: str, item_zh: str,
             item_en: str) -> str:
        return sim_book(reference=reference, item=item_zh)

    def query(self, *, reference: str) -> CarrierParcel | None:
        return sim_query(reference=reference)

    def verify_callback(self, *, body: bytes, headers) -> CarrierEvent:
        key_id, nonce = verify_signed(headers=headers, body=body, keys=sim_keys())
        return parse_event(body=body, key_id=key_id, nonce=nonce)
