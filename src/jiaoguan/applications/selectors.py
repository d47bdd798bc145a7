"""Reads of the workflow engine: staff work queues, one application for staff (access-audited) or for its
applicant, the timeline, statistics per service.

Queues are built from the catalogue: "waiting for me at approval" is, per service, the states its approve/reject
actions start from, for the roles those actions allow. Each queue is walked in its own order on a partial index
(app_queue_due, app_queue_accept, app_queue_post_review, app_queue_claimed: migration 0003, with extended
statistics so the planner knows which services wait for post-review), pages are keyset pages (queue_page: after
the last row of the page before) and counts stop at COUNT_CAP, so a page and its tab counts read a bounded number
of rows whatever the table's size (docs/performance.md §9.4: flat from 100,000 to 1,000,000 applications).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field as dc_field

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from jiaoguan.applications import hooks, rules
from jiaoguan.applications.catalogue import LEVEL_OF, LEVELS, Service, Text, catalogue
from jiaoguan.applications.labels import DELIVERY_LABELS, STATUS_EN, STATUS_ZH
from jiaoguan.applications.models import (
    DONE_STATES,
    OPEN_STATES,
    STAFF_STATES,
    Application,
    ApplicationEvent,
    Material,
)
from jiaoguan.core import clock, workdays
from jiaoguan.core.audit import Actor, audit_access
from jiaoguan.core.errors import DomainError, InvalidInput, Refusal, forbidden, not_found
from jiaoguan.core.i18n import Bi, bi
from jiaoguan.core.masking import mask_account, mask_id_number, mask_phone
from jiaoguan.identity.roles import PERMISSIONS, has_permission
from jiaoguan.identity.selectors import account_vehicles

STAGE_VERBS = {
    "acceptance": ("accept", "refuse"),
    "review": ("review",),
    "approval": ("approve", "reject"),
    "post_review": ("confirm", "revoke"),
}
QUEUES = ("acceptance", "review", "approval", "post_review", "due_soon", "overdue", "claimed")
QUEUE_LABELS = {
    "acceptance": Text("待受理", "Waiting for acceptance"),
    "review": Text("待审核", "Waiting for review"),
    "approval": Text("待审批", "Waiting for approval"),
    "post_review": Text("先批后审待复核", "Approved first, waiting for review"),
    "due_soon": Text("即将到期", "Due soon"),
    "overdue": Text("已超期", "Overdue"),
    "claimed": Text("我正在办理", "Claimed by me"),
}


# Who performed each level (catalogue.LEVELS) of an application: what rules.duty_conflict reads.
PERFORMED_BY = {"accept": "accepted_by", "review": "reviewed_by", "approve": "approved_by"}


def _nothing() -> Q:
    return Q(pk__in=[])


def performed(application: Application) -> dict[str, int | None]:
    """level -> the member of staff who performed it on this application (None: nobody yet, or the system)."""
    return {level: getattr(application, f"{column}_id") for level, column in PERFORMED_BY.items()}


def _kept_apart(service: Service, stage: str) -> frozenset[str]:
    """The levels whose performer may not take this stage's step on the same application (rules.duty_conflict,
    as a queue filter)."""
    level = LEVEL_OF[STAGE_VERBS[stage][0]]
    return frozenset(done for done in LEVELS if not service.workflow.may_combine(done, level))


def _stage_q(user, stage: str) -> Q:
    """What this stage offers the user's role, without what separation of duties keeps from this user."""
    groups: dict[tuple[frozenset[str], frozenset[str]], list[str]] = defaultdict(list)
    for service in catalogue().services.values():
        states: set[str] = set()
        for verb in STAGE_VERBS[stage]:
            action = service.action(verb)
            if action is not None and user.role in action.allowed_roles():
                states.update(action.from_states)
        if states:
            groups[(frozenset(states), _kept_apart(service, stage))].append(service.code)
    q = _nothing()
    for (group, apart), codes in groups.items():
        part = Q(service_code__in=sorted(codes), status__in=sorted(group))
        for level in sorted(apart):
            part &= ~Q(**{PERFORMED_BY[level]: user})
        q |= part
    if stage == "post_review":
        return q & Q(post_review_pending=True)
    return q & Q(post_review_pending=False)


def _mine(user) -> Q:
    """Everything some stage offers this user, not their own, not claimed by someone else."""
    q = _nothing()
    for stage in STAGE_VERBS:
        q |= _stage_q(user, stage)
    return q


def queue(*, user, name: str, service_code: str | None = None) -> QuerySet[Application]:
    """A staff work queue, soonest due first: acceptance / review / approval / post_review (waiting for me at
    that step), due_soon, overdue (of what I could work on), claimed (by me)."""
    if name not in QUEUES:
        raise not_found("工作队列", "work queue")
    qs = Application.objects.exclude(applicant=user)
    now = clock.now()
    if name == "claimed":
        qs = qs.filter(claimed_by=user)
    elif name in STAGE_VERBS:
        # separation of duties: never offered a step of a level kept apart from one I performed
        qs = qs.filter(_stage_q(user, name)).filter(Q(claimed_by__isnull=True) | Q(claimed_by=user))
    elif name == "overdue":
        qs = qs.filter(_mine(user), status__in=STAFF_STATES, due_at__lt=now)
    else:  # due_soon, per service's own warning window
        windows: dict[int, list[str]] = defaultdict(list)
        for service in catalogue().services.values():
            windows[service.due_soon_days].append(service.code)
        q = _nothing()
        for days, codes in windows.items():
            q |= Q(service_code__in=codes, due_at__lte=rules.due_soon_threshold(now, days))
        qs = qs.filter(_mine(user), q, status__in=STAFF_STATES, due_at__gte=now)
    if service_code:
        qs = qs.filter(service_code=service_code)
    qs = qs.select_related("claimed_by")
    if name == "acceptance":  # nothing accepted yet, so no time limit: oldest submission first
        return qs.order_by("submitted_at", "pk")
    return qs.order_by(F("due_at").asc(nulls_last=True), "submitted_at", "pk")


# --- keyset pages and bounded counts -------------------------------------------------------------------------------
# A queue page starts after the last row of the page before it (keyset: the queue's own sort key), never at an
# offset: the 2,000th page costs what the first does. A tab's count stops at COUNT_CAP: "99+" is what a member
# of staff needs on a tab, and counting a million rows to say more would cost a scan that grows with the data.
# The count walks the queue in its own order (the same index as its first page), so the planner never trades it
# for a sequential scan on a misjudged estimate.

COUNT_CAP = 100
PAGE_MAX = 100
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _micros(value: dt.datetime) -> int:
    return (value - _EPOCH) // dt.timedelta(microseconds=1)


def _moment(text: str) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=int(text))


def queue_cursor(application: Application, name: str) -> str:
    """Where the next page of queue ``name`` starts: this row's sort key (opaque to callers)."""
    tail = f"{_micros(application.submitted_at)}.{application.pk}" if application.submitted_at else f"0.{application.pk}"
    if name == "acceptance":
        return tail
    due = application.due_at
    return f"{_micros(due) if due is not None else 'n'}.{tail}"


def _bad_cursor() -> DomainError:
    return InvalidInput("applications.queue_cursor", "翻页位置无效，请从第一页开始", "Invalid page position; start from the first page",
                        field="after")


def _after_q(name: str, after: str) -> Q:
    """The rows after ``after`` (a queue_cursor) in the queue's order: due_at ascending with no time limit last,
    then submitted_at, then id (acceptance: submitted_at, id)."""
    parts = after.split(".")
    try:
        if name == "acceptance":
            if len(parts) != 2:
                raise ValueError
            submitted, pk = _moment(parts[0]), int(parts[1])
            return Q(submitted_at__gt=submitted) | Q(submitted_at=submitted, pk__gt=pk)
        if len(parts) != 3:
            raise ValueError
        submitted, pk = _moment(parts[1]), int(parts[2])
        later = Q(submitted_at__gt=submitted) | Q(submitted_at=submitted, pk__gt=pk)
        if parts[0] == "n":
            return Q(due_at__isnull=True) & later
        due = _moment(parts[0])
        return Q(due_at__gt=due) | Q(due_at=due) & later | Q(due_at__isnull=True)
    except (ValueError, OverflowError):
        raise _bad_cursor() from None


@dataclass(frozen=True)
class QueuePage:
    items: list[Application]
    next_after: str  # "" on the last page


def queue_page(*, user, name: str, service_code: str | None = None, after: str = "", limit: int = 50,
               related: tuple[str, ...] = ()) -> QueuePage:
    """One page of a work queue: ``limit`` rows (at most PAGE_MAX) after ``after`` ("" = the first page)."""
    limit = max(1, min(limit, PAGE_MAX))
    qs = queue(user=user, name=name, service_code=service_code)
    if after:
        if len(after) > 80:
            raise _bad_cursor()
        qs = qs.filter(_after_q(name, after))
    if related:
        qs = qs.select_related(*related)
    rows = list(qs[:limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return QueuePage(items=rows, next_after=queue_cursor(rows[-1], name) if more else "")


def queue_count(*, user, name: str, service_code: str | None = None) -> int:
    """The queue's size, exact below COUNT_CAP; COUNT_CAP means "COUNT_CAP or more" (count_label: "99+")."""
    return queue(user=user, name=name, service_code=service_code)[:COUNT_CAP].count()


def count_label(n: int) -> str:
    return f"{COUNT_CAP - 1}+" if n >= COUNT_CAP else str(n)


def queue_counts(*, user, service_code: str | None = None) -> dict[str, int]:
    """Every queue's queue_count, in one statement (one round trip for the seven tabs)."""
    from django.core.exceptions import EmptyResultSet
    from django.db import connection

    parts: list[str] = []
    params: list = []
    for name in QUEUES:
        qs = queue(user=user, name=name, service_code=service_code).values("pk")[:COUNT_CAP]
        try:
            sql, p = qs.query.sql_with_params()
        except EmptyResultSet:  # nothing this role could ever see in this queue
            parts.append("0")
            continue
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) q{len(parts)})")
        params.extend(p)
    with connection.cursor() as cur:
        cur.execute("SELECT " + ", ".join(parts), params)
        found = cur.fetchone()
    return dict(zip(QUEUES, (int(n) for n in found), strict=True))


# --- one application --------------------------------------------------------------------------------------------


def _choice_label(service: Service, name: str, value) -> Bi | str:
    spec = service.field(name)
    if spec is None:
        return str(value)
    if spec.type == "choice":
        choice = next((c for c in spec.choices if c.value == str(value)), None)
        return choice.label if choice else str(value)
    if spec.type == "boolean":
        return bi("是", "Yes") if value is True else bi("否", "No")
    return "" if value is None else str(value)


def form_display(*, application: Application, unmask: bool = False) -> list[tuple[str, Text, Bi | str]]:
    """(name, label, value) for every answered field, in the declaration's order; ID numbers and phones masked unless
    ``unmask`` (the caller audits an unmasked view)."""
    service = catalogue().get(application.service_code)
    data = application.form()
    if service is None:
        return [(k, Text(k, k), "***" if k in (application.form_personal or "") else str(v)) for k, v in data.items()]
    out: list[tuple[str, Text, Bi | str]] = []
    for spec in service.fields:
        if spec.type == "file" or data.get(spec.name) in (None, ""):
            continue
        value = data[spec.name]
        shown: Bi | str
        if spec.type == "id_number" and not unmask:
            shown = mask_id_number(str(value))
        elif spec.type == "phone" and not unmask:
            shown = mask_phone(str(value))
        elif spec.type == "bank_account" and not unmask:
            shown = mask_account(str(value))
        else:
            shown = _choice_label(service, spec.name, value)
        out.append((spec.name, spec.label, shown))
    return out


def _staff_may_view(user) -> bool:
    return has_permission(user, "application.view") or has_permission(user, "application.stats")


def application_for_staff(*, application_id: int, user, ip: str = "", unmask: bool = False) -> Application:
    """An application with its applicant, events and materials for a member of staff; writes the access-audit
    row (every staff look at an applicant's data is recorded; "person.unmask" when unmasked). A draft is the
    applicant's own work in progress until submitted: for staff it does not exist (404, no audit row) — the one
    check the console and the API share."""
    if not _staff_may_view(user):
        raise forbidden()
    app = (Application.objects.select_related("applicant", "enterprise", "accepted_by", "reviewed_by", "approved_by",
                                              "claimed_by")
           .prefetch_related("events", "materials").filter(pk=application_id)
           .exclude(status=Application.Status.DRAFT).first())
    if app is None:
        raise not_found("申请", "application")
    person_id = getattr(app.applicant, "person_id", None)
    if person_id is not None:
        audit_access(actor=Actor.of(user, ip=ip), action="person.unmask" if unmask else "person.view",
                     subject_person_id=person_id, object_type="applications.application", object_id=app.pk,
                     fields=["form"] if unmask else None, reason=f"application {app.reference or app.pk}")
    return app


def my_applications(*, user, status: str | None = None) -> QuerySet[Application]:
    qs = Application.objects.filter(applicant=user)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


@dataclass(frozen=True)
class ApplicationLine:
    """One of an applicant's applications as a home page lists it: the service's name and the status in both
    languages."""

    id: int
    reference: str
    service_code: str
    service_zh: str
    service_en: str
    status: str
    status_zh: str
    status_en: str
    created_at: dt.datetime
    submitted_at: dt.datetime | None


ApplicationStatus = Application.Status  # for the layers above (they may not import applications.models)


def my_application_counts(*, user) -> dict[str, int]:
    """How many of the account's applications are in each status (drafts left out), and ``open``: submitted and
    not yet decided (OPEN_STATES, returned ones included) — what the citizen's summary shows."""
    counts = dict(Application.objects.filter(applicant=user).exclude(status=Application.Status.DRAFT)
                  .values_list("status").annotate(n=Count("pk")).order_by())
    return {**counts, "open": sum(n for status, n in counts.items() if status in OPEN_STATES)}


def my_application_lines(*, user, limit: int = 10, drafts: bool = True,
                         open_only: bool = False) -> list[ApplicationLine]:
    """The account's latest applications (newest first), what an applicant's home page shows of them; without
    drafts, or only those in progress (OPEN_STATES), when asked."""
    cat = catalogue()
    out = []
    apps = my_applications(user=user)
    if open_only:
        apps = apps.filter(status__in=OPEN_STATES)
    elif not drafts:
        apps = apps.exclude(status=Application.Status.DRAFT)
    for app in apps[:limit]:
        service = cat.get(app.service_code)
        out.append(ApplicationLine(
            id=app.pk, reference=app.reference or "", service_code=app.service_code,
            service_zh=service.name.zh if service else app.service_code,
            service_en=service.name.en if service else app.service_code,
            status=app.status, status_zh=STATUS_ZH.get(app.status, app.status),
            status_en=STATUS_EN.get(app.status, app.status), created_at=app.created_at,
            submitted_at=app.submitted_at))
    return out


def applicant_vehicles(*, user, service: Service | None = None) -> list:
    """The applicant's own vehicles (registry VehicleSummary rows: an enterprise's, or a citizen's own), which the
    service's own_vehicle fields may name; nothing is read when the service has no such field."""
    if service is not None and not any(f.type == "own_vehicle" for f in service.fields):
        return []
    return account_vehicles(user=user)


def applicant_options(*, user, service: Service) -> dict[str, list]:
    """The applicant's own records each own_record field of the service offers (field name -> hooks.Option list,
    from the field's registered source); nothing is read when the service has no such field."""
    return {f.name: list(hooks.OPTION_SOURCES[f.source](user)) for f in service.fields
            if f.type == "own_record" and f.source in hooks.OPTION_SOURCES}


def form_clean_for(*, user, service: Service, data: dict) -> tuple[dict, dict]:
    """``rules.form_clean`` for this applicant today: what a submission would say of the form (pages preview it
    with this; the engine checks again at submission)."""
    return rules.form_clean(service, data, today=clock.today(),
                            vehicles=applicant_vehicles(user=user, service=service),
                            options=applicant_options(user=user, service=service))


def my_application(*, user, application_id: int) -> Application:
    """The applicant's own application (someone else's is the same 404 as a missing one)."""
    app = Application.objects.prefetch_related("materials").filter(pk=application_id, applicant=user).first()
    if app is None:
        raise not_found("申请", "application")
    return app


def timeline(*, application: Application, public_only: bool = True) -> list[ApplicationEvent]:
    """The history, oldest first. The applicant sees the public steps; staff see claims and sweeps as well."""
    qs = application.events.all()
    if public_only:
        qs = qs.filter(public=True)
    return list(qs.order_by("at", "pk"))


# What the platform itself says on a step (a person's comment is their own words, shown as written).
AUTO_APPROVED = bi("自动批准", "Approved automatically")
APPROVED_FIRST = bi("先批后审：先发证，事后复核", "Approved first; reviewed afterwards")


def event_comment(event: ApplicationEvent) -> Bi | str:
    """An event's comment in the reader's language. The platform's own notes (an automatic or approve-first
    decision, a delivery step) are derived from the event's data, so rows written before they were stored in
    Chinese only (as "中文 English") read right too; a person's comment is returned as written."""
    data = event.data or {}
    if event.action == "delivery" and data.get("status") in DELIVERY_LABELS:
        zh, en = DELIVERY_LABELS[data["status"]]
        number = data.get("tracking_number")
        return bi(f"{zh} · {number}", f"{en} · {number}") if number else bi(zh, en)
    if event.action == "approve" and data.get("auto"):
        return AUTO_APPROVED
    if event.action == "approve" and data.get("approve_first"):
        return APPROVED_FIRST
    return event.comment


@dataclass(frozen=True)
class Progress:
    """Where the time limit stands, for a page or the API."""

    due_at: dt.datetime | None
    paused: bool
    workdays_left: int | None
    overdue: bool


@dataclass(frozen=True)
class FeeState:
    """An application's fees as the applicant and staff see them: the lines of every phase (exempt ones with
    why), what is charged in all, the deadline to pay, and the state in payments ("unpaid", "paying", "paid",
    "cancelled", "refunded"; "exempt": nothing to pay) of the payable that matters now — the approval's once one
    was charged, else the submission's — with the reference the citizen pays by and its phase."""

    lines: list[dict]
    total_fen: int
    due_at: dt.datetime | None
    status: str
    payable_reference: str
    payable_id: int | None
    phase: str = "submission"

    def as_dict(self) -> dict:
        return {"lines": self.lines, "total_fen": self.total_fen,
                "due_at": timezone.localtime(self.due_at).isoformat() if self.due_at else None,
                "status": self.status, "payable_reference": self.payable_reference, "phase": self.phase}


def fee_state(*, application: Application) -> FeeState | None:
    """None when the service charges nothing for this application (no fee declared for its answers)."""
    from jiaoguan.applications.services import FEE_SOURCE  # the one name of the source, kept by the writer
    from jiaoguan.payments.selectors import payable_for_source

    lines = [{"at": "submission", **line} for line in application.fee_lines or []]
    if not lines:
        return None
    phase = "approval" if rules.fee_total_of(lines, "approval") else "submission"
    item = None
    if rules.fee_total_of(lines, phase):
        item = payable_for_source(source_type=FEE_SOURCE, source_id=rules.fee_source_id(application.pk, phase))
    return FeeState(lines, rules.fee_total_of(lines), application.fee_due_at, item.status if item else "exempt",
                    (item.reference or "") if item else "", item.pk if item else None, phase)


def progress(*, application: Application, now: dt.datetime | None = None, memo: dict | None = None) -> Progress:
    """``memo`` (a queue page): the working days left are computed once per due day, shared by the rows."""
    now = now or clock.now()
    if application.paused_workdays is not None and application.status == Application.Status.RETURNED:
        return Progress(application.due_at, True, application.paused_workdays, False)
    if application.due_at is None or application.status not in STAFF_STATES:
        return Progress(application.due_at, False, None, False)
    if memo is None:
        left = rules.workdays_left(now, application.due_at)
    else:
        day = timezone.localdate(application.due_at)
        if day not in memo:
            memo[day] = rules.workdays_left(now, application.due_at)
        left = memo[day]
    return Progress(application.due_at, False, left, application.due_at < now)


# --- materials ---------------------------------------------------------------------------------------------------


def uploads(*, application: Application) -> dict[str, list[Material]]:
    """The applicant's uploaded files by slot (from the prefetched materials)."""
    out: dict[str, list[Material]] = {}
    for m in application.materials.all():
        if m.kind == Material.Kind.UPLOAD:
            out.setdefault(m.slot, []).append(m)
    return out


def held_records(*, application: Application) -> dict[str, Material]:
    """The records the platform held at submission (免提交), by material code."""
    return {m.slot: m for m in application.materials.all() if m.kind == Material.Kind.HELD}


def my_upload(*, application: Application, material_id: int) -> Material | None:
    """One uploaded file of the applicant's own application (``application`` from my_application)."""
    return application.materials.filter(pk=material_id, kind=Material.Kind.UPLOAD).first()


def upload_for_staff(*, application_id: int, material_id: int) -> Material | None:
    """An uploaded file of a submitted application (a draft is the applicant's own work in progress), with its
    applicant, for the console's permission-checked download (the caller writes the access-audit row)."""
    return (Material.objects.select_related("application__applicant")
            .filter(pk=material_id, application_id=application_id, kind=Material.Kind.UPLOAD)
            .exclude(application__status=Application.Status.DRAFT).exclude(file="").first())


def uploaded_slots(*, application: Application) -> set[str]:
    """The slots the applicant has uploaded at least one file to."""
    return set(Material.objects.filter(application=application, kind=Material.Kind.UPLOAD)
               .values_list("slot", flat=True))


def has_open_application(*, user, service_code: str, besides: Application | None = None) -> bool:
    """Does the applicant have an open (submitted, not yet decided) application of this service, other than
    ``besides`` (the one being submitted)?"""
    qs = Application.objects.filter(applicant=user, service_code=service_code, status__in=OPEN_STATES)
    if besides is not None:
        qs = qs.exclude(pk=besides.pk)
    return qs.exists()


def plate_month_taken(*, service_code: str, statuses, plate: str, month: str,
                      besides: Application | None = None) -> bool:
    """Is there an application of this service in ``statuses`` for ``plate`` with a travel date in ``month``
    ("YYYY-MM"), other than ``besides``?"""
    qs = Application.objects.filter(service_code=service_code, status__in=statuses, form_data__plate=plate,
                                    form_data__travel_date__startswith=month)
    if besides is not None:
        qs = qs.exclude(pk=besides.pk)
    return qs.exists()




# --- statistics -------------------------------------------------------------------------------------------------


def statistics(*, since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[dict]:
    """Per service, of applications submitted in [since, until): received, done (approved/rejected/refused),
    done on time (decided by the end of the time limit, or with none), done late, open, overdue (still with staff
    past the limit). One grouped query."""
    now = clock.now()
    qs = Application.objects.filter(submitted_at__isnull=False)
    if since is not None:
        qs = qs.filter(submitted_at__gte=since)
    if until is not None:
        qs = qs.filter(submitted_at__lt=until)
    done = Q(status__in=DONE_STATES)
    rows = qs.values("service_code").annotate(
        received=Count("pk"),
        done=Count("pk", filter=done),
        on_time=Count("pk", filter=done & (Q(due_at__isnull=True) | Q(decided_at__lte=F("due_at")))),
        late=Count("pk", filter=done & Q(decided_at__gt=F("due_at"))),
        open=Count("pk", filter=Q(status__in=("submitted", "returned", "under_review", "reviewed"))),
        overdue=Count("pk", filter=Q(status__in=STAFF_STATES, due_at__lt=now)),
    ).order_by("service_code")
    cat = catalogue()
    out = []
    for row in rows:
        service = cat.get(row["service_code"])
        out.append({**row, "name_zh": service.name.zh if service else row["service_code"],
                    "name_en": service.name.en if service else row["service_code"]})
    return out


def average_workdays(*, since: dt.datetime | None = None, until: dt.datetime | None = None) -> dict[str, float]:
    """Per service, the average working days from submission to the decision of the applications done: grouped
    by (submission day, decision day), so the work is per pair of days, not per application."""
    qs = Application.objects.filter(status__in=DONE_STATES, submitted_at__isnull=False, decided_at__isnull=False)
    if since is not None:
        qs = qs.filter(submitted_at__gte=since)
    if until is not None:
        qs = qs.filter(submitted_at__lt=until)
    tz = clock.zone()
    pairs = list(qs.annotate(s=TruncDate("submitted_at", tzinfo=tz), d=TruncDate("decided_at", tzinfo=tz))
                 .values("service_code", "s", "d").annotate(n=Count("pk")).order_by())
    if not pairs:
        return {}
    days = [p["s"] for p in pairs] + [p["d"] for p in pairs]
    between = workdays.workday_counter(min(days), max(days))
    sums: dict[str, list[int]] = {}
    for p in pairs:
        total = sums.setdefault(p["service_code"], [0, 0])
        total[0] += max(between(p["s"], p["d"]), 0) * p["n"]
        total[1] += p["n"]
    return {code: s / n for code, (s, n) in sums.items() if n}


# --- checking without submitting (the one check: submission, the entry page, 核对信息, the API) ------------------


@dataclass(frozen=True)
class SubmissionCheck:
    """What a submission of ``app`` would say, computed without writing: the cleaned answers, the problems with
    the form and uploads (field → (zh, en)), the eligibility refusals (only asked once the form is complete), the
    held material per declared material (None: not held), and the held materials that could not be looked up."""

    cleaned: dict
    errors: dict
    refusals: list
    held: list
    unknown: frozenset = frozenset()


def _rule_context(app, service: Service, user, data: dict, params: dict | None = None) -> hooks.RuleContext:
    return hooks.RuleContext(user=user, service=service, data=data, params=params or {}, application=app,
                             enterprise=getattr(app, "enterprise", None) if app is not None else None)


def held_materials(*, app: Application | None, service: Service, user, data: dict,
                   lenient: bool = False) -> tuple[list, frozenset]:
    """Per declared material, in the declaration's order, what the platform already holds for this applicant
    (免提交: a hooks.Held, or None), asked with the cleaned answers ``data``; and the codes of those whose
    provider could not answer just now (``lenient``: left out rather than raised)."""
    ctx = _rule_context(app, service, user, data)
    held: list[hooks.Held | None] = []
    unknown: set[str] = set()
    for m in service.materials:
        found = None
        if m.held:
            try:
                found = hooks.PROVIDERS[m.held](ctx)
            except DomainError:
                if not lenient:
                    raise
                unknown.add(m.code)
        held.append(found)
    return held, frozenset(unknown)


def submission_check(*, app: Application, service: Service, user, lenient: bool = False) -> SubmissionCheck:
    """Validate everything a submission needs, writing nothing: the form, the materials (uploaded or held by the
    platform), then (when those are complete) the eligibility rules. ``services.application_submit`` refuses on
    exactly what this returns; the portal's 核对信息 page and the API's ``GET me/applications/{id}/check`` show
    it. ``lenient`` (showing the check): a held-material provider or a rule that cannot answer just now is left
    out rather than raised (the submission asks again)."""
    cleaned, errors = form_clean_for(user=user, service=service, data=app.form())
    uploaded = uploaded_slots(application=app)
    refusals: list[Refusal] = []
    held, unknown = held_materials(app=app, service=service, user=user, data=cleaned, lenient=lenient)
    for m, found in zip(service.materials, held):
        if found is not None or m.code in unknown or m.code in uploaded or not m.required:
            continue
        if m.held and not m.upload_if_not_held:
            refusals.append(Refusal(f"material.{m.code}", f"平台未查到您的{m.name.zh}，暂不能网上办理",
                                    f"The platform holds no {m.name.en} of yours, so this cannot be done online"))
        else:
            errors[m.code] = (f"请上传“{m.name.zh}”", f"Upload “{m.name.en}”")
    for f in service.fields:
        if f.type == "file" and f.required and f.name not in uploaded:
            errors[f.name] = (f"请上传“{f.label.zh}”", f"Upload “{f.label.en}”")
    if not errors:
        for use in service.eligibility:
            try:
                refusals.extend(hooks.RULES[use.rule](_rule_context(app, service, user, cleaned, use.params)) or [])
            except DomainError:
                if not lenient:
                    raise
    return SubmissionCheck(cleaned, errors, refusals, held, unknown)


@dataclass(frozen=True)
class EntryCheck:
    """May this account apply, before it fills in the form? ``refusals``: reasons that hold whatever it answers
    (no form is offered). ``field``: the service's first choice (e.g. 办理类型), and ``closed``: those of its
    options not open to this account now, each with its reasons (when every option is closed, their reasons are
    the refusals)."""

    refusals: tuple = ()
    field: str | None = None
    closed: dict = dc_field(default_factory=dict)

    @property
    def open(self) -> bool:
        return not self.refusals

    def closed_for(self, answers: dict) -> tuple:
        """The reasons the option chosen in ``answers`` is closed (empty when it is open or not chosen)."""
        if self.field is None or not self.closed:
            return ()
        return self.closed.get(str(answers.get(self.field) or ""), ())


def _entry_refusals(*, user, service: Service, answers: dict) -> list:
    out: list = []
    for use in service.eligibility:
        if use.rule not in hooks.BEFORE_FORM:
            continue
        try:
            out.extend(hooks.RULES[use.rule](_rule_context(None, service, user, dict(answers), use.params)) or [])
        except DomainError:
            continue  # cannot say now: the submission asks again
    return out


def entry_check(*, user, service: Service) -> EntryCheck:
    """The eligibility a service's entry page (guide, start of the form, the API) can state before any answer:
    the rules registered ``before_form`` (services.application_submit runs the same rules again, with the rest),
    asked once with no answers and once per option of the form's first choice field."""
    hooks.load_plugins()
    if user is None or not getattr(user, "is_authenticated", False):
        return EntryCheck()
    base = _entry_refusals(user=user, service=service, answers={})
    if base:
        return EntryCheck(refusals=tuple(base))
    first = next((f for f in service.fields if f.type == "choice" and f.required), None)
    if first is None:
        return EntryCheck()
    closed = {}
    for choice in first.choices:
        reasons = _entry_refusals(user=user, service=service, answers={first.name: choice.value})
        if reasons:
            closed[choice.value] = tuple(reasons)
    if first.choices and len(closed) == len(first.choices):
        every = {r.code: r for reasons in closed.values() for r in reasons}
        return EntryCheck(refusals=tuple(every.values()), field=first.name, closed=closed)
    return EntryCheck(field=first.name, closed=closed)


# --- Claims: the one check the console offers 认领 / 强制释放 from and the services enforce -------------------------

def claim_block(*, application: Application, actor: Actor) -> str | None:
    """Why ``actor`` may not claim the application now (a code of rules.CLAIM_TEXTS, or
    "applications.claimed_by_you"), or None: rules.claim_block, as services.application_claim enforces it."""
    service = catalogue().get(application.service_code)
    if service is None:
        return "applications.state_changed"
    verbs = rules.actions_workable(service, status=application.status,
                                   post_review_pending=application.post_review_pending)
    return rules.claim_block(workable_roles=[service.workflow.actions[v].allowed_roles() for v in verbs],
                             role=actor.role, own=actor.id is not None and actor.id == application.applicant_id,
                             holder_id=application.claimed_by_id, actor_id=actor.id)


def action_block(*, application: Application, service: Service, verb: str, actor: Actor) -> str | None:
    """Why ``actor`` may not take ``verb`` now (rules.action_block), or None: what services.application_act
    enforces, in its order."""
    return rules.action_block(service, verb, status=application.status,
                              post_review_pending=application.post_review_pending, role=actor.role,
                              actor_id=actor.id, applicant_id=application.applicant_id,
                              holder_id=application.claimed_by_id, performed=performed(application))


def duty_refusal(*, application: Application, service: Service, verb: str, actor: Actor) -> Refusal | None:
    """The separation-of-duties refusal for ``verb`` (rules.duty_refusal of rules.duty_conflict), or None: what
    services.application_act says, and what the console shows instead of a button it does not offer."""
    done = rules.duty_conflict(service, verb, actor_id=actor.id, performed=performed(application))
    return rules.duty_refusal(done, verb) if done is not None else None


def duties_withheld(*, application: Application, service: Service, actor: Actor, order) -> list[Refusal]:
    """Why steps (of ``order``) that the actor's role could take now are not offered to them: one refusal per
    pair of levels kept apart (the console shows them where the buttons would be)."""
    out: dict[str, Refusal] = {}
    for verb in order:
        if action_block(application=application, service=service, verb=verb, actor=actor) == \
                rules.SEPARATION_OF_DUTIES:
            refusal = duty_refusal(application=application, service=service, verb=verb, actor=actor)
            if refusal is not None:
                out.setdefault(refusal.zh, refusal)
    return list(out.values())


# The blocks a page still offers the step under: the engine refuses with its own message, which the page shows
# (someone else's claim is shown beside the claim button). Separation of duties is not one of them: a person
# who may not take a step is not offered it (duties_withheld says why).
OFFERED_DESPITE = frozenset({"applications.claimed"})


def actions_offered(*, application: Application, service: Service, actor: Actor, order) -> list[str]:
    """The steps (of ``order``) the console offers ``actor``: those the service has, their role may take, on
    someone else's application, in a state that allows them (action_block)."""
    return [verb for verb in order
            if action_block(application=application, service=service, verb=verb, actor=actor) in
            {None, *OFFERED_DESPITE}]


def release_block(*, application: Application, actor: Actor, force: bool) -> str | None:
    """Why ``actor`` may not release the claim (``force``: someone else's, a supervisor's right), or None:
    rules.release_block, as services.application_release enforces it."""
    may_force = actor.role == "system" or actor.role in PERMISSIONS["application.approve"]
    return rules.release_block(holder_id=application.claimed_by_id, actor_id=actor.id, force=force,
                               may_force=may_force)
