"""Vehicle bindings (DOMAIN §1): own vehicles bound automatically, someone else's with the owner's SMS code."""
from __future__ import annotations

import hmac
import re

from django.conf import settings
from django.db import transaction

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput, not_found
from jiaoguan.core.i18n import choice_label, zh_en
from jiaoguan.core.idempotency import idempotent, seen, validate_key
from jiaoguan.core.identifiers import format_plate, validate_plate
from jiaoguan.core.masking import mask_name, mask_phone
from jiaoguan.core.outbox import records_changed
from jiaoguan.identity import ratelimit, rules
from jiaoguan.identity.hashes import phone_hash
from jiaoguan.identity.models import SmsCode, User, VehicleBinding
from jiaoguan.identity.roles import Role
from jiaoguan.identity.selectors import (
    PHONE_MISMATCH_EN,
    PHONE_MISMATCH_ZH,
    records_visible,
)
from jiaoguan.identity.services._common import (
    _collect,
    _maybe,
    _merge,
    _rate_limited,
    _send,
)
from jiaoguan.identity.services.otp import (
    _otp_check,
    _otp_consume,
    _otp_issue,
    _otp_minutes,
)
from jiaoguan.registry import selectors as registry

LIVE = (VehicleBinding.Status.PENDING, VehicleBinding.Status.ACTIVE)
_VIN_TAIL = re.compile(r"^[0-9A-HJ-NPR-Z]{4}$")


# --- vehicle bindings (DOMAIN §1) -------------------------------------------------------------------------------
#
# The life cycle of a binding (rules.BINDINGS): a binding is opened pending (someone else's vehicle, waiting
# for the owner's code) or active (an own vehicle); pending → active (confirmed, or the user became the owner),
# pending → ended (withdrawn, owner changed), pending → expired (the owner's code died), active → ended (unbound,
# no longer the owner, the vehicle changed owner or left service). ``_binding_open`` is the one place a binding
# is created and ``_binding_move`` the one place its status changes: each checks the table and appends the
# audit row. The named transitions below (_binding_activate, _binding_end, _binding_expire) are what callers
# use; tests/identity/test_binding_lifecycle.py checks on the source that nothing else assigns a status.

def _binding_state_error(old: str, new: str) -> Conflict:
    zh_old, en_old = zh_en(choice_label(VehicleBinding.Status, old))
    zh_new, en_new = zh_en(choice_label(VehicleBinding.Status, new))
    return Conflict("identity.binding_state", f"该绑定记录当前为“{zh_old}”，不能改为“{zh_new}”",
                    f"This binding is {en_old.lower() or old} and cannot become {en_new.lower() or new}")


def _binding_move(binding: VehicleBinding, *, to: str, actor: Actor, action: str, reason: str = "",
                  new: dict | None = None) -> str:
    """Move a binding (row locked by the caller, inside its transaction) to ``to`` if the table allows it; stamp
    bound_at / ended_at; append the audit row (subject: the owner who authorised it). Returns the old status."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("a binding moves only inside the caller's transaction, with its row locked")
    old = binding.status
    if not rules.BINDINGS.allows(old, to):
        raise _binding_state_error(old, to)
    now = clock.now()
    binding.status = to
    fields = ["status"]
    extra: dict = {}
    if to == VehicleBinding.Status.ACTIVE:
        binding.bound_at = binding.bound_at or now
        fields.append("bound_at")
        extra["bound_at"] = binding.bound_at
    else:
        binding.ended_at = now
        fields.append("ended_at")
    binding.save(update_fields=fields)
    records_changed(user_ids=[binding.user_id])
    audit_record(actor=actor, action=action, obj=binding, subject_person_id=binding.owner_person_id,
                 old={"status": old}, new={"status": to, **extra, **(new or {})}, reason=reason)
    return old


def _binding_open(*, user: User, vehicle, kind: str, actor: Actor, action: str, new: dict | None = None
                  ) -> VehicleBinding:
    """Create a binding: an own vehicle starts active, someone else's pending. Records the owner now on file
    as the one who authorises it, and appends the audit row."""
    now = clock.now()
    status = VehicleBinding.Status.ACTIVE if kind == VehicleBinding.Kind.OWN else VehicleBinding.Status.PENDING
    if status not in rules.BINDING_START:
        raise _binding_state_error("", status)
    binding = VehicleBinding.objects.create(
        user=user, vehicle_id=vehicle.pk, kind=kind, status=status, requested_at=now,
        bound_at=now if status == VehicleBinding.Status.ACTIVE else None, owner_person_id=vehicle.owner_id)
    records_changed(user_ids=[user.pk])
    audit_record(actor=actor, action=action, obj=binding, subject_person_id=vehicle.owner_id,
                 new={"status": status, "vehicle_id": vehicle.pk, "plate": vehicle.plate, "kind": kind,
                      **(new or {})})
    return binding


def _binding_activate(binding: VehicleBinding, *, actor: Actor, action: str = "binding.confirm",
                      new: dict | None = None) -> str:
    """pending → active."""
    return _binding_move(binding, to=VehicleBinding.Status.ACTIVE, actor=actor, action=action, new=new)


def _binding_end(binding: VehicleBinding, *, actor: Actor, action: str = "binding.end", reason: str = "",
                 new: dict | None = None, notify: bool = True) -> str:
    """pending or active → ended. With ``notify``, a user whose active binding ended is told in the inbox
    (binding.ended). Returns the old status."""
    old = _binding_move(binding, to=VehicleBinding.Status.ENDED, actor=actor, action=action, reason=reason,
                        new=new)
    if notify and old == VehicleBinding.Status.ACTIVE:
        user = binding.user
        _send(template="binding.ended", params={"plate": format_plate(binding.vehicle.plate)}, user=user,
              channels=("inbox",), language=user.preferred_language)
    return old


def _binding_expire(binding: VehicleBinding, *, actor: Actor) -> str:
    """pending → expired (the owner's code can no longer be used)."""
    return _binding_move(binding, to=VehicleBinding.Status.EXPIRED, actor=actor, action="binding.expire")


def _binding_make_own(binding: VehicleBinding, *, actor: Actor, person_id: int) -> None:
    """The user now owns a vehicle they had bound (or asked to bind) as someone else's: it becomes their own,
    authorised by themselves; a pending request becomes active."""
    old_kind = binding.kind
    binding.kind, binding.owner_person_id = VehicleBinding.Kind.OWN, person_id
    binding.save(update_fields=["kind", "owner_person_id"])
    records_changed(user_ids=[binding.user_id])
    if binding.status == VehicleBinding.Status.PENDING:
        _binding_activate(binding, actor=actor, action="binding.became_own", new={"kind": "own"})
    else:
        audit_record(actor=actor, action="binding.became_own", obj=binding, subject_person_id=person_id,
                     old={"kind": old_kind, "status": binding.status}, new={"kind": "own", "status": binding.status})


def _owned_now(person) -> dict[int, object]:
    """The vehicles the person owns now, by id (the registry leaves out scrapped and transferred ones)."""
    return {v.pk: v for v in registry.vehicles_owned_by(person=person) or []}


def _owned_ids(person) -> set[int]:
    """The ids of the vehicles the person owns now: the cheap check every "my vehicles" read makes."""
    return registry.vehicle_ids_owned_by(person=person)


def _records_visible(user: User) -> bool:
    return records_visible(user=user)


def _bindings_sync(*, user: User, actor: Actor) -> None:
    """Own vehicles: bind every vehicle the person owns now, end own bindings of vehicles no longer owned.
    Only while the account's phone is the person's phone on file: otherwise nothing is bound and live own
    bindings end (the account is not proven to be the owner's: selectors.account_standing)."""
    if user.person_id is None:
        return
    visible = _records_visible(user)
    owned_ids = _owned_ids(user.person) if visible else set()
    # Fast path without locks (this runs on every "my vehicles" read): nothing to do in the usual case.
    live_kinds = dict(VehicleBinding.objects.filter(user=user, status__in=LIVE).values_list("vehicle_id", "kind"))
    if all(live_kinds.get(vid) == VehicleBinding.Kind.OWN for vid in owned_ids) and not any(
            kind == VehicleBinding.Kind.OWN and vid not in owned_ids for vid, kind in live_kinds.items()):
        return
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one sync per user at a time
        owned = _owned_now(user.person) if visible else {}
        live = {b.vehicle_id: b for b in VehicleBinding.objects.select_for_update(of=("self",))
                .select_related("vehicle").filter(user=user, status__in=LIVE)}
        for vehicle_id in sorted(owned):
            binding = live.get(vehicle_id)
            if binding is None:
                _binding_open(user=user, vehicle=owned[vehicle_id], kind=VehicleBinding.Kind.OWN, actor=actor,
                              action="binding.own_bind")
            elif binding.kind != VehicleBinding.Kind.OWN:
                _binding_make_own(binding, actor=actor, person_id=user.person_id)
        for vehicle_id, binding in live.items():
            if binding.kind == VehicleBinding.Kind.OWN and vehicle_id not in owned:
                _binding_end(binding, actor=actor, action="binding.own_end",
                             reason="no longer the owner" if visible else "account phone is not the phone on file",
                             new={"plate": binding.vehicle.plate})


def bindings_sync_own(*, user: User) -> None:
    """Bind every vehicle the user owns (registry) and end own bindings of vehicles no longer owned; while the
    account's phone is not the phone on file, bind nothing and end own bindings."""
    _bindings_sync(user=user, actor=Actor.system("identity.bindings_sync"))


def bindings_reconcile_vehicle(*, vehicle_id: int, reason: str = "") -> list[VehicleBinding]:
    """Bring the bindings of one vehicle in line with the registry after it changed owner or left service
    (outbox events registry.vehicle_owner_changed / registry.vehicle_status_changed, identity.handlers).

    Ends every live binding that no longer stands (rules.binding_stands): all of them when the vehicle is
    scrapped or transferred out; otherwise the previous owner's own binding and other users' bindings that the
    previous owner had agreed to. Each end is audited and a user whose active binding ended is told in the
    inbox (binding.ended). Then the new owner's account, if any, binds the vehicle as its own (the usual
    sync, so only while its phone is the phone on file). Decided from the registry as it is now, not from the
    event: running it again, late or out of order changes nothing more. Returns the bindings it ended."""
    actor = Actor.system("identity.vehicle_changed")
    vehicle = registry.vehicle_get(vehicle_id=vehicle_id)
    if vehicle is None:
        return []
    user_ids = set(VehicleBinding.objects.filter(vehicle_id=vehicle.pk, status__in=LIVE)
                   .values_list("user_id", flat=True))
    account = None
    if vehicle.owner_id is not None and vehicle.status not in rules.VEHICLE_GONE_STATUSES:
        account = User.objects.filter(person_id=vehicle.owner_id, is_active=True).first()
        if account is not None:
            user_ids.add(account.pk)
    ended: list[VehicleBinding] = []
    with transaction.atomic():
        # Users first, in one order, then their bindings: the order every other binding write takes.
        list(User.objects.select_for_update().filter(pk__in=user_ids).order_by("pk").values_list("pk", flat=True))
        vehicle = registry.vehicle_get(vehicle_id=vehicle.pk)
        if vehicle is None:  # gone meanwhile (the register keeps its vehicles): nothing of it to reconcile
            return ended
        live = (VehicleBinding.objects.select_for_update(of=("self",)).select_related("user", "vehicle")
                .filter(vehicle_id=vehicle.pk, status__in=LIVE).order_by("pk"))
        for binding in live:
            if rules.binding_stands(kind=binding.kind, user_person_id=binding.user.person_id,
                                    authorised_by=binding.owner_person_id, owner_id=vehicle.owner_id,
                                    vehicle_status=vehicle.status):
                continue
            _binding_end(binding, actor=actor, action="binding.vehicle_changed", reason=reason,
                         new={"plate": vehicle.plate, "owner_person_id": vehicle.owner_id,
                              "vehicle_status": vehicle.status})
            ended.append(binding)
        if account is not None:
            _bindings_sync(user=account, actor=actor)
    return ended


def _require_citizen(user: User) -> None:
    if user is None or not user.is_active or user.role != Role.CITIZEN or user.person_id is None:
        raise Forbidden("identity.citizen_only", "只有完成实名注册的市民可以绑定车辆",
                        "Only citizens with a verified real name can bind vehicles")


def _vehicle_mismatch() -> InvalidInput:
    return InvalidInput(
        "identity.vehicle_not_matched",
        "号牌号码、号牌种类与车辆识别代号后四位不匹配，请对照行驶证核对",
        "The plate, plate type and last four characters of the VIN do not match a vehicle; check them against "
        "the vehicle licence",
        fields={"plate": ("请核对号牌号码和号牌种类", "Check the plate and plate type"),
                "vin_last4": ("请核对车辆识别代号后四位", "Check the last four characters of the VIN")},
    )


def _expire_stale_pending(*, user: User) -> None:
    """Pending requests whose owner code is no longer usable (expired, used up) end as expired, so they stop
    counting against the user's limit."""
    now = clock.now()
    pending = list(VehicleBinding.objects.filter(user=user, status=VehicleBinding.Status.PENDING))
    actor = Actor.system("identity.binding_expiry")
    for binding in pending:
        live_code = SmsCode.objects.filter(
            purpose=SmsCode.Purpose.BIND, context=str(binding.pk), used_at__isnull=True, expires_at__gt=now,
            attempts__lt=settings.JIAOGUAN_OTP_MAX_ATTEMPTS,
        ).exists()
        if live_code:
            continue
        with transaction.atomic():
            row = (VehicleBinding.objects.select_for_update()
                   .filter(pk=binding.pk, status=VehicleBinding.Status.PENDING).first())
            if row is not None:
                _binding_expire(row, actor=actor)


def _owner_phone(vehicle) -> tuple[object, str]:
    owner = _maybe(registry.person_get, person_id=vehicle.owner_id) if vehicle.owner_id else None
    if owner is None or not owner.phone:
        raise InvalidInput("identity.owner_no_phone", "车主未在车管所预留手机号码，无法短信确认，请到车管所窗口办理",
                           "The owner has no phone number on file, so the binding cannot be confirmed by SMS; "
                           "please go to a vehicle administration office window", field="plate")
    return owner, owner.phone


def _records_withheld() -> Forbidden:
    return Forbidden("identity.phone_mismatch", PHONE_MISMATCH_ZH, PHONE_MISMATCH_EN, field="plate")


def binding_request(*, user: User, plate: str, plate_type: str, vin_last4: str) -> VehicleBinding:
    """Ask to bind someone else's vehicle (DOMAIN §1): proof by plate + plate type + last 4 of the VIN;
    non-commercial small cars only; at most JIAOGUAN_MAX_OTHER_VEHICLES of others per user and
    JIAOGUAN_MAX_USERS_PER_VEHICLE users per vehicle (owner included). The owner gets a code (otp.bind) on the
    phone on file and tells it to the requester if they agree. Asking again while pending sends a new code."""
    _require_citizen(user)

    def check_type():
        value = str(plate_type or "").strip()
        if value not in registry.plate_types():
            raise InvalidInput("identity.plate_type", "号牌种类不正确", "Unknown plate type", field="plate_type")
        return value

    def check_tail():
        value = re.sub(r"\s", "", str(vin_last4 or "")).upper()
        if not _VIN_TAIL.match(value):
            raise InvalidInput("identity.vin_last4", "请填写车辆识别代号（VIN）的后四位（数字或字母，不含I、O、Q）",
                               "Enter the last four characters of the VIN (digits or letters, no I, O, Q)",
                               field="vin_last4")
        return value

    (plate, plate_type, vin_last4), errors = _collect([lambda: validate_plate(plate), check_type, check_tail])
    if errors:
        raise _merge(errors)
    refusal = ratelimit.take([ratelimit.Limit("bind.user", str(user.pk),
                                              settings.JIAOGUAN_BIND_RATE_PER_USER)])
    if refusal is not None:
        raise _rate_limited(refusal, field=None)

    vehicle = _maybe(registry.vehicle_by_plate, plate=plate, plate_type=plate_type)
    if vehicle is None or not hmac.compare_digest(vehicle.vin[-4:].upper(), vin_last4):
        raise _vehicle_mismatch()
    if vehicle.owner_id is not None and vehicle.owner_id == user.person_id:
        if not _records_visible(user):
            raise _records_withheld()
        bindings_sync_own(user=user)
        raise Conflict("identity.own_vehicle", "该车辆登记在您本人名下，已自动绑定，无需申请",
                       "This vehicle is registered in your name and is bound automatically", field="plate")
    if not rules.other_vehicle_bindable(kind=vehicle.kind, use=vehicle.use, plate_type=vehicle.plate_type,
                                        status=vehicle.status, owned_by_person=vehicle.owner_id is not None):
        raise InvalidInput("identity.vehicle_not_bindable",
                           "只能绑定他人名下的非营运小型汽车；营运、单位、货运等车辆请到车管所窗口办理",
                           "Only privately used small cars of other persons can be bound; commercial, company "
                           "and other vehicles are handled at a window", field="plate")
    _owner, owner_phone = _owner_phone(vehicle)
    _expire_stale_pending(user=user)

    actor = Actor.of(user)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        binding = (VehicleBinding.objects.select_for_update(of=("self",)).select_related("vehicle", "user")
                   .filter(user=user, vehicle_id=vehicle.pk, status__in=LIVE).first())
        if binding is not None and binding.owner_person_id != vehicle.owner_id:
            # agreed to (or asked of) a previous owner: that request is over, a new one goes to the new owner
            _binding_end(binding, actor=Actor.system("identity.vehicle_changed"), action="binding.vehicle_changed",
                         reason="owner changed", new={"plate": vehicle.plate})
            binding = None
        if binding is not None and binding.status == VehicleBinding.Status.ACTIVE:
            raise Conflict("identity.already_bound", "您已绑定该车辆", "You have already bound this vehicle", field="plate")
        if binding is None:
            mine = VehicleBinding.objects.filter(user=user, kind=VehicleBinding.Kind.OTHER, status__in=LIVE).count()
            if mine >= settings.JIAOGUAN_MAX_OTHER_VEHICLES:
                raise _too_many_vehicles()
            taken = VehicleBinding.objects.filter(vehicle_id=vehicle.pk, kind=VehicleBinding.Kind.OTHER,
                                                  status=VehicleBinding.Status.ACTIVE).count()
            if rules.seats_left(max_users=settings.JIAOGUAN_MAX_USERS_PER_VEHICLE, other_users_bound=taken) <= 0:
                raise _vehicle_full()
            binding = _binding_open(user=user, vehicle=vehicle, kind=VehicleBinding.Kind.OTHER, actor=actor,
                                    action="binding.request", new={"requester_person_id": user.person_id})
        owner_digest = phone_hash(owner_phone)
        refusal = ratelimit.take([
            ratelimit.Limit("bind.owner.min", owner_digest, settings.JIAOGUAN_SMS_RATE_PER_PHONE_MIN),
            ratelimit.Limit("bind.owner.hour", owner_digest, settings.JIAOGUAN_SMS_RATE_PER_PHONE),
        ])
        if refusal is not None:
            raise _rate_limited(refusal, field=None)
        code = _otp_issue(phone_digest=owner_digest, purpose=SmsCode.Purpose.BIND, context=str(binding.pk))
        assert user.person is not None  # _require_citizen: a citizen account with its person
        requester = f"{mask_name(user.person.name)}（{mask_phone(user.phone)}）"
        _send(template="otp.bind", phone=owner_phone, channels=("sms",),
              params={"code": code, "minutes": _otp_minutes(), "plate": format_plate(vehicle.plate),
                      "requester": requester})
    return binding


def _too_many_vehicles() -> Conflict:
    n = settings.JIAOGUAN_MAX_OTHER_VEHICLES
    return Conflict("identity.too_many_vehicles", f"每个账户最多绑定{n}辆他人名下的车辆",
                    f"An account can bind at most {n} vehicles of other persons")


def _vehicle_full() -> Conflict:
    n = settings.JIAOGUAN_MAX_USERS_PER_VEHICLE
    return Conflict("identity.vehicle_full", f"该车辆已有{n}人绑定（含车主），不能再绑定",
                    f"This vehicle is already bound by {n} users (owner included)", field="plate")


def _own_binding(user: User, binding_id: int, *, lock: bool = False) -> VehicleBinding:
    qs = VehicleBinding.objects.select_related("vehicle", "user")
    if lock:
        qs = qs.select_for_update(of=("self",))
    try:
        pk = int(binding_id)
    except (TypeError, ValueError):
        pk = 0
    user_pk = getattr(user, "pk", None)  # no user (anonymous): no binding is theirs
    binding = qs.filter(pk=pk, user_id=user_pk).first() if user_pk is not None and 0 < pk < 2**63 else None
    if binding is None:
        # the same answer for "not yours" and "does not exist"
        raise not_found("绑定记录", "binding")
    return binding


def _binding_code_check(*, user: User, binding_id: int, code: str) -> int:
    binding = _own_binding(user, binding_id)
    if binding.status == VehicleBinding.Status.ACTIVE:
        raise Conflict("identity.already_bound", "您已绑定该车辆", "You have already bound this vehicle")
    if binding.status != VehicleBinding.Status.PENDING:
        raise Conflict("identity.binding_not_pending", "该绑定申请已失效，请重新申请",
                       "This binding request is no longer open; please request again")
    _owner, owner_phone = _owner_phone(binding.vehicle)
    return _otp_check(phone_digest=phone_hash(owner_phone), purpose=SmsCode.Purpose.BIND, code=code,
                      context=str(binding.pk))


def _binding_confirm_locked(*, user: User, binding_id: int, sms_id: int) -> VehicleBinding:
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        binding = _own_binding(user, binding_id, lock=True)
        if binding.status != VehicleBinding.Status.PENDING:
            raise Conflict("identity.binding_not_pending", "该绑定申请已失效，请重新申请",
                           "This binding request is no longer open; please request again")
        # Lock the vehicle row, then count: two confirmations for the last seat are serialised here and the
        # second sees the first one's binding (ARCHITECTURE §4: lock, then check, then write). This only locks
        # the registry row; nothing of the registry is written.
        vehicle = registry.vehicle_locked(vehicle_id=binding.vehicle_id)
        assert vehicle is not None  # the binding's vehicle (a PROTECT foreign key) exists
        if vehicle.owner_id != binding.owner_person_id:
            raise Conflict("identity.binding_not_pending", "车辆所有人已变更，该绑定申请已失效，请重新申请",
                           "The vehicle has a new owner since the request; please request again")
        if vehicle.owner_id == user.person_id or not rules.other_vehicle_bindable(
                kind=vehicle.kind, use=vehicle.use, plate_type=vehicle.plate_type, status=vehicle.status,
                owned_by_person=vehicle.owner_id is not None):
            raise InvalidInput("identity.vehicle_not_bindable", "该车辆当前不能绑定，请到车管所窗口咨询",
                               "This vehicle cannot be bound now; ask at a window", field="plate")
        mine = (VehicleBinding.objects.filter(user=user, kind=VehicleBinding.Kind.OTHER,
                                              status=VehicleBinding.Status.ACTIVE).exclude(pk=binding.pk).count())
        if mine >= settings.JIAOGUAN_MAX_OTHER_VEHICLES:
            raise _too_many_vehicles()
        taken = (VehicleBinding.objects.filter(vehicle_id=vehicle.pk, kind=VehicleBinding.Kind.OTHER,
                                               status=VehicleBinding.Status.ACTIVE).exclude(pk=binding.pk).count())
        if rules.seats_left(max_users=settings.JIAOGUAN_MAX_USERS_PER_VEHICLE, other_users_bound=taken) <= 0:
            raise _vehicle_full()
        _otp_consume(sms_id)
        _binding_activate(binding, actor=Actor.of(user), action="binding.confirm", new={"plate": vehicle.plate})
        plate = format_plate(vehicle.plate)
        # The owner agreed by handing over the code sent to them; the requester is told in the inbox.
        _send(template="binding.confirmed", params={"plate": plate}, user=user, channels=("inbox",),
              language=user.preferred_language)
        _notify_owner(vehicle=vehicle, template="binding.owner_confirmed", plate=plate)
    return binding


def _notify_owner(*, vehicle, template: str, plate: str) -> None:
    """Tell the owner, by SMS to the phone on file, that someone else's binding of their vehicle changed."""
    owner = vehicle.owner
    if owner is not None and owner.phone:
        _send(template=template, params={"plate": plate}, phone=owner.phone, channels=("sms",))


def binding_confirm(*, user: User, binding_id: int, code: str, idempotency_key: str | None = None) -> VehicleBinding:
    """Confirm a pending request with the code the owner received. The limits are checked again under a lock
    of the vehicle row, so concurrent confirmations cannot exceed them. With ``idempotency_key`` a repeated
    request returns the first result (core.idempotency) instead of "already bound"."""
    if not idempotency_key:
        sms_id = _binding_code_check(user=user, binding_id=binding_id, code=code)
        return _binding_confirm_locked(user=user, binding_id=binding_id, sms_id=sms_id)

    key = validate_key(idempotency_key)
    scope = f"identity.binding_confirm:{user.pk}"
    fingerprint = f"{binding_id}:{code}"
    if not seen(scope, key):
        # Check the code before entering ``idempotent``: its transaction would roll back a counted attempt.
        _binding_code_check(user=user, binding_id=binding_id, code=code)

    def run():
        sms_id = _binding_code_check(user=user, binding_id=binding_id, code=code)
        binding = _binding_confirm_locked(user=user, binding_id=binding_id, sms_id=sms_id)
        return 200, {"binding_id": binding.pk}

    _status, body = idempotent(scope=scope, key=key, fingerprint=fingerprint, run=run)
    return _own_binding(user, body["binding_id"])


def binding_end(*, user: User, binding_id: int) -> VehicleBinding:
    """End (or withdraw) a binding of one's own. A vehicle still owned cannot be unbound. Ending an already
    ended binding changes nothing and returns it."""
    with transaction.atomic():
        user_pk = getattr(user, "pk", None)
        if user_pk is not None:  # no user (anonymous): nothing to lock, _own_binding finds nothing
            User.objects.select_for_update().filter(pk=user_pk).first()
        binding = _own_binding(user, binding_id, lock=True)
        if binding.status not in LIVE:
            return binding
        if binding.kind == VehicleBinding.Kind.OWN and binding.vehicle_id in _owned_ids(user.person):
            raise Conflict("identity.own_vehicle_unbind", "登记在您本人名下的车辆不能解除绑定",
                           "A vehicle registered in your name cannot be unbound")
        vehicle = binding.vehicle
        old = _binding_end(binding, actor=Actor.of(user), action="binding.end", new={"plate": vehicle.plate})
        if old == VehicleBinding.Status.ACTIVE and binding.kind == VehicleBinding.Kind.OTHER:
            _notify_owner(vehicle=vehicle, template="binding.owner_ended", plate=format_plate(vehicle.plate))
    return binding
