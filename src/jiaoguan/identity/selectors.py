"""Reads of the identity app: a citizen's own licence, vehicles and bindings; an enterprise account's company and
its vehicles; accounts by phone.

What a user sees of a vehicle they bound but do not own is the vehicle (plate, type, brand, inspection,
insurance, status, last 4 of the VIN): never the owner's name, ID number, phone or address. The summaries
built here carry no owner data at all beyond the registry's internal person id, which the API does not show.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.crypto import constant_time_compare

from jiaoguan.core import rows
from jiaoguan.core.errors import InvalidInput
from jiaoguan.core.i18n import Bi
from jiaoguan.core.identifiers import validate_phone
from jiaoguan.core.masking import mask_id_number, mask_name
from jiaoguan.identity import rules
from jiaoguan.identity.hashes import password_stamp, phone_hash, token_digest
from jiaoguan.identity.models import ApiToken, PhoneOnFileChange, User, VehicleBinding
from jiaoguan.identity.roles import STAFF_ROLES, Role, has_permission
from jiaoguan.registry import selectors as registry


@dataclass(frozen=True)
class MyVehicle:
    """A vehicle on "my vehicles": the registry's summary plus how the user holds it."""

    binding_id: int
    kind: str  # "own" or "other"
    bound_at: dt.datetime | None
    vehicle: object  # registry.selectors.VehicleSummary

    @property
    def is_own(self) -> bool:
        return self.kind == VehicleBinding.Kind.OWN


@dataclass(frozen=True)
class MyBinding:
    """One binding of the user (any status), for "my bindings"."""

    id: int
    kind: str
    status: str
    status_label: Bi | str  # a Bi at run time (the type stubs see a Choices label as str)
    plate: str
    plate_type: str
    requested_at: dt.datetime
    bound_at: dt.datetime | None
    ended_at: dt.datetime | None


@dataclass(frozen=True)
class AccountStanding:
    """Whether the account may see the person's own records (licence, own vehicles), and what to tell the user
    when not. The registry's phone on file (预留手机号) is what proves that the account belongs to the person:
    while the account's phone is not it, the licence and own vehicles are withheld.

    - ``phone_mismatch``: the registry has a phone on file for the person and it is not the account's phone
      (the person updated it at a window, or someone registered the person with another phone);
    - ``phone_missing``: the registry has no phone on file, and the person holds a licence or owns a vehicle
      that is therefore withheld;
    - ``records_visible``: the licence and own vehicles are shown (vehicles of others bound with their owners'
      SMS consent are shown either way);
    - ``message_zh`` / ``message_en``: what the portal shows ("" when all is well).
    """

    phone_mismatch: bool = False
    phone_missing: bool = False
    records_visible: bool = True
    message_zh: str = ""
    message_en: str = ""

    @property
    def ok(self) -> bool:
        return not (self.phone_mismatch or self.phone_missing)


PHONE_MISMATCH_ZH = "您的手机号与登记的预留手机号不一致，请到车管所窗口更新"
PHONE_MISMATCH_EN = ("Your phone number is not the one on file at the vehicle administration office; update it at "
                     "a vehicle administration office window. Until then your driving licence and own "
                     "vehicles are not shown")
PHONE_MISSING_ZH = "车管所没有您的预留手机号，驾驶证和本人车辆信息暂不显示，请携带身份证到车管所窗口登记"
PHONE_MISSING_EN = ("The vehicle administration office has no phone number on file for you, so your driving "
                    "licence and own vehicles are not shown; bring your ID card to a window to add it")


def records_visible(*, user: User) -> bool:
    """May this account see the person's licence and own vehicles? Only while its phone is the phone on file."""
    if user is None or getattr(user, "person_id", None) is None:
        return False
    assert user.person is not None  # person_id is set (a PROTECT foreign key)
    return rules.phone_on_file_matches(on_file=user.person.phone, account=user.phone)


def account_standing(*, user: User) -> AccountStanding:
    """The account's standing for the portal and the API (see AccountStanding). Staff and accounts without a
    person have nothing withheld."""
    if user is None or getattr(user, "person_id", None) is None:
        return AccountStanding()
    if records_visible(user=user):
        return AccountStanding()
    person = user.person
    assert person is not None  # person_id is set (a PROTECT foreign key)
    if person.phone:
        return AccountStanding(phone_mismatch=True, records_visible=False,
                               message_zh=PHONE_MISMATCH_ZH, message_en=PHONE_MISMATCH_EN)
    holds = registry.licence_for_person(person=person) is not None or registry.vehicles_owned_by(
        person=person).exists()
    if holds:
        return AccountStanding(phone_missing=True, records_visible=False,
                               message_zh=PHONE_MISSING_ZH, message_en=PHONE_MISSING_EN)
    return AccountStanding(records_visible=False)


def my_licence(*, user: User):
    """The user's own driving licence as a registry LicenceSummary, or None (also while the account's phone is
    not the phone on file: see account_standing)."""
    if not records_visible(user=user):
        return None
    assert user.person is not None  # records_visible: the account has its person
    licence = registry.licence_for_person(person=user.person)
    return registry.licence_summary(licence=licence) if licence is not None else None


def my_vehicles(*, user: User) -> list[MyVehicle]:
    """The vehicles bound to the user now (own first, then others' in the order they were bound).

    Only active bindings that still stand with the registry as it is now: never a vehicle scrapped or
    transferred out, never someone else's vehicle whose owner changed since they agreed, never an own vehicle
    the user no longer owns; own vehicles only while the account's phone is the phone on file."""
    if user is None or getattr(user, "pk", None) is None:
        return []
    visible = records_visible(user=user)
    bindings = []
    rows = (VehicleBinding.objects.filter(user=user, status=VehicleBinding.Status.ACTIVE)
            .exclude(vehicle__status__in=rules.VEHICLE_GONE_STATUSES)
            .select_related("vehicle").prefetch_related("vehicle__policies"))
    for b in rows:
        owner_id = b.vehicle.owner_id
        if not rules.binding_stands(kind=b.kind, user_person_id=user.person_id, authorised_by=b.owner_person_id,
                                    owner_id=owner_id, vehicle_status=b.vehicle.status):
            continue
        is_owner = user.person_id is not None and owner_id == user.person_id
        if is_owner and not visible:
            continue  # the user's own vehicle (whatever the binding's kind) is withheld
        bindings.append(b)
    bindings.sort(key=lambda b: (b.kind != VehicleBinding.Kind.OWN, b.bound_at or b.requested_at, b.pk))
    summaries = registry.vehicle_summaries(vehicles=[b.vehicle for b in bindings])
    return [MyVehicle(binding_id=b.pk, kind=b.kind, bound_at=b.bound_at, vehicle=s)
            for b, s in zip(bindings, summaries)]


@dataclass(frozen=True)
class MyEnterprise:
    """The company an enterprise account acts for, as its own pages show it (the USCC masked)."""

    id: int
    name: str
    uscc: str
    uscc_masked: str


def is_enterprise_account(user) -> bool:
    """An account of the enterprise role (whether or not an administrator has linked it to its company yet)."""
    return getattr(user, "role", None) == Role.ENTERPRISE


def my_enterprise(*, user: User) -> MyEnterprise | None:
    """The enterprise an enterprise account acts for; None for any other account, or one not linked yet."""
    if not is_enterprise_account(user) or getattr(user, "enterprise_id", None) is None:
        return None
    e = user.enterprise
    assert e is not None  # enterprise_id is set (a PROTECT foreign key)
    return MyEnterprise(id=e.pk, name=e.name, uscc=e.uscc, uscc_masked=mask_id_number(e.uscc))


def account_vehicles(*, user: User, kinds=None) -> list:
    """The vehicles an account holds as their owner, as registry VehicleSummary rows (live vehicles only: never
    scrapped or transferred out), optionally only of the given registry kinds (e.g. ``("truck",)``):

    - an enterprise account: its enterprise's vehicles (registered to the company's USCC), by plate;
    - a citizen: their own vehicles, while the account's phone is the phone on file (see account_standing),
      oldest first. Vehicles of others bound with their owners' consent are not the citizen's own.

    What a service that needs "one of the applicant's vehicles" offers and accepts (applications' own_vehicle
    field); staff accounts own nothing."""
    if user is None or getattr(user, "pk", None) is None:
        return []
    if is_enterprise_account(user):
        company = my_enterprise(user=user)
        vehicles = registry.vehicles_of_enterprise(uscc=company.uscc) if company is not None else []
    elif getattr(user, "role", None) == Role.CITIZEN and records_visible(user=user):
        assert user.person is not None  # records_visible: the account has its person
        vehicles = registry.vehicles_owned_by(person=user.person)
    else:
        return []
    if kinds:
        vehicles = [v for v in vehicles if v.kind in set(kinds)]
    return registry.vehicle_summaries(vehicles=vehicles)


@cache
def _my_bindings_sql() -> str:
    qn = connection.ops.quote_name
    vehicle = VehicleBinding._meta.get_field("vehicle").related_model
    return (f"SELECT b.id, b.kind, b.status, v.plate, v.plate_type, b.requested_at, b.bound_at, b.ended_at "
            f"FROM {qn(VehicleBinding._meta.db_table)} b JOIN {qn(vehicle._meta.db_table)} v ON v.id = b.vehicle_id "
            f"WHERE b.user_id = %s AND (%s = '' OR b.status = %s) "
            f"ORDER BY b.requested_at DESC, b.id DESC LIMIT %s")


def my_bindings(*, user: User, limit: int = 100, status: str | None = None) -> list[MyBinding]:
    """The user's bindings, newest request first: pending, active, ended and expired (or only ``status``). One
    prepared hand-written statement (``core.rows``): the citizen's home page asks for the pending ones on every
    visit."""
    if user is None or getattr(user, "pk", None) is None:
        return []
    found = rows.fetchall(_my_bindings_sql(), [user.pk, status or "", status or "", int(limit)])

    def when(name: str, value):
        return rows.convert(VehicleBinding, name, value)

    return [
        MyBinding(id=pk, kind=kind, status=st, status_label=VehicleBinding.Status(st).label, plate=plate,
                  plate_type=plate_type, requested_at=when("requested_at", requested),
                  bound_at=when("bound_at", bound), ended_at=when("ended_at", ended))
        for pk, kind, st, plate, plate_type, requested, bound, ended in found
    ]


def binding_of(*, user: User, binding_id: int) -> MyBinding | None:
    """One of the user's bindings, or None (also for someone else's)."""
    b = VehicleBinding.objects.select_related("vehicle").filter(pk=binding_id, user=user).first()
    if b is None:
        return None
    return MyBinding(id=b.pk, kind=b.kind, status=b.status, status_label=VehicleBinding.Status(b.status).label, plate=b.vehicle.plate,
                     plate_type=b.vehicle.plate_type, requested_at=b.requested_at, bound_at=b.bound_at,
                     ended_at=b.ended_at)


def user_by_phone(*, phone: str) -> User | None:
    """The account registered with this phone number, or None (also for a malformed number)."""
    try:
        phone = validate_phone(phone)
    except InvalidInput:
        return None
    return User.objects.filter(phone_hash=phone_hash(phone)).first()


def token_expires_at(*, token: str) -> dt.datetime | None:
    """When a (live) bearer token expires, or None."""
    digest = token_digest(str(token or ""))
    row = ApiToken.objects.filter(token_hash=digest, revoked_at__isnull=True).select_related("user").first()
    if row is None:
        return None
    return token_ends_at(role=row.user.role, created_at=row.created_at, expires_at=row.expires_at)


def token_ends_at(*, role: str, created_at: dt.datetime, expires_at: dt.datetime | None = None) -> dt.datetime:
    """When a token of an account of ``role`` issued at ``created_at`` stops working (rules.token_ends_at with
    the settings: a staff member's after one console session, SESSION_COOKIE_AGE; a citizen's after
    JIAOGUAN_TOKEN_TTL_DAYS)."""
    return rules.token_ends_at(role=role, created_at=created_at, expires_at=expires_at,
                               session_seconds=settings.SESSION_COOKIE_AGE,
                               public_days=settings.JIAOGUAN_TOKEN_TTL_DAYS)


def token_works(*, row: ApiToken, now: dt.datetime) -> bool:
    """Does this token (its ``user`` joined) still let its holder in at ``now``? Not revoked, before its end
    (token_ends_at), the account active and its password the one the token was issued under."""
    user = row.user
    return (row.revoked_at is None and user.is_active
            and now < token_ends_at(role=user.role, created_at=row.created_at, expires_at=row.expires_at)
            and constant_time_compare(row.password_stamp, password_stamp(user.password)))


@dataclass(frozen=True)
class TokenRow:
    """A live bearer token as the console lists it: never the token itself (only its hash is stored)."""

    id: int
    holder_id: int
    holder_username: str
    holder_name: str
    label: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime  # when it stops working (rules.token_ends_at)


def token_holder_visible(*, viewer: User, holder_id: int) -> User | None:
    """The account whose tokens ``viewer`` may see and revoke (rules.token_manageable: their own; an
    administrator, any staff member's), or None — also for an unknown id (the page's 404)."""
    holder = viewer if holder_id == viewer.pk else User.objects.filter(pk=holder_id).first()
    if holder is None or not rules.token_manageable(
            viewer_id=viewer.pk, viewer_may_manage_staff=has_permission(viewer, "staff.manage"),
            holder_id=holder.pk, holder_role=holder.role):
        return None
    return holder


def live_tokens(*, holders=None, exclude_holder: int | None = None, now: dt.datetime) -> list[TokenRow]:
    """Tokens not revoked and not yet ended, newest first: of the accounts ``holders`` (User rows) or, when None,
    of every staff account (an administrator's overview), optionally leaving out one account."""
    rows = ApiToken.objects.filter(revoked_at__isnull=True, expires_at__gt=now).select_related("user")
    if holders is None:
        rows = rows.filter(user__role__in=STAFF_ROLES)
    else:
        rows = rows.filter(user__in=list(holders))
    if exclude_holder is not None:
        rows = rows.exclude(user_id=exclude_holder)
    out = []
    for t in rows.order_by("-created_at", "-pk"):
        if not token_works(row=t, now=now):
            continue
        ends = token_ends_at(role=t.user.role, created_at=t.created_at, expires_at=t.expires_at)
        out.append(TokenRow(id=t.pk, holder_id=t.user_id, holder_username=t.user.username,
                            holder_name=t.user.display_name or t.user.username, label=t.label,
                            created_at=t.created_at, last_used_at=t.last_used_at, expires_at=ends))
    return out


def user_display_name(*, user: User) -> str:
    """What to greet the user with: a staff member's display name, a citizen's masked real name."""
    if user.display_name:
        return user.display_name
    if user.person_id:
        assert user.person is not None  # person_id is set (a PROTECT foreign key)
        return mask_name(user.person.name)
    return user.username


def staff_accounts():
    """Every staff account, active ones first."""
    return User.objects.filter(role__in=STAFF_ROLES).order_by("-is_active", "username")


def staff_by_username(*, username: str) -> User | None:
    return User.objects.filter(username=username, role__in=STAFF_ROLES).first()


def staff_get(*, user_id: int) -> User | None:
    return User.objects.filter(pk=user_id, role__in=STAFF_ROLES).first()


def users_by_ids(*, ids) -> dict[int, User]:
    return User.objects.in_bulk(set(ids))


def account_of_person(*, person_id: int | None) -> User | None:
    """The active account of a registry person (one account per person), or None."""
    if person_id is None:
        return None
    return User.objects.filter(person_id=person_id, is_active=True).select_related("person").first()


def accounts_bound_to_vehicle(*, vehicle_id: int) -> list[User]:
    """Active accounts with an active binding to the vehicle (own or someone else's), by id. What each may see
    of the vehicle is decided by my_vehicles (the binding must still stand; a bound non-owner sees only what
    happened after the binding)."""
    ids = (VehicleBinding.objects.filter(vehicle_id=vehicle_id, status=VehicleBinding.Status.ACTIVE)
           .values_list("user_id", flat=True))
    return list(User.objects.filter(pk__in=ids, is_active=True).select_related("person").order_by("pk"))


def accounts_showing(*, user_ids=(), person_ids=(), vehicle_ids=()) -> QuerySet:
    """The ids of the accounts whose own records show something of these accounts, persons or vehicles (a
    vehicle: its owner's account and every account with a live binding to it), as a lazy query: what the read
    model marks stale in a writer's transaction, in one statement."""
    q = Q(pk__in=list(user_ids)) | Q(person_id__in=list(person_ids))
    if vehicle_ids:
        vehicle_ids = list(vehicle_ids)
        q |= Q(person_id__in=registry.vehicle_owner_ids(vehicle_ids=vehicle_ids))
        q |= Q(pk__in=VehicleBinding.objects.filter(vehicle_id__in=vehicle_ids, status=VehicleBinding.Status.ACTIVE)
               .values("user_id"))
    return User.objects.filter(q).values("pk")


# --- the phone on file changed online ----------------------------------------------------------------------------

def phone_file_change_pending(*, person_id: int) -> PhoneOnFileChange | None:
    """The person's change of the phone on file that is waiting out its cooling-off period, if any."""
    return (PhoneOnFileChange.objects.filter(person_id=person_id, status=PhoneOnFileChange.Status.COOLING)
            .order_by("-id").first())


def phone_file_change_latest(*, user: User) -> PhoneOnFileChange | None:
    """What the holder's page shows: the account's person's latest online change of the phone on file."""
    person_id = getattr(user, "person_id", None)
    if person_id is None:
        return None
    return PhoneOnFileChange.objects.filter(person_id=person_id).order_by("-requested_at", "-id").first()


def phone_file_blocked_until(*, person_id: int, now: dt.datetime) -> dt.datetime | None:
    """Until when online changes of this person's phone on file are refused, after the old number stopped one
    (JIAOGUAN_PHONE_FILE_BLOCK_DAYS); None when they are not."""
    objected = (PhoneOnFileChange.objects.filter(person_id=person_id, status=PhoneOnFileChange.Status.OBJECTED)
                .order_by("-ended_at").values_list("ended_at", flat=True).first())
    until = rules.phone_file_blocked_until(objected_at=objected, block_days=settings.JIAOGUAN_PHONE_FILE_BLOCK_DAYS)
    return until if until is not None and until > now else None


def phone_file_changes_due(*, now: dt.datetime, after_id: int = 0, limit: int = 500) -> list[int]:
    """Ids of the changes whose cooling-off period is over, in id order after ``after_id`` (a keyset page)."""
    return list(PhoneOnFileChange.objects.filter(status=PhoneOnFileChange.Status.COOLING, effective_at__lte=now,
                                                 id__gt=after_id).order_by("id").values_list("id", flat=True)[:limit])
