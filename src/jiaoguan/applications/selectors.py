"""Reads of the workflow engine: staff work queues, one application for staff (access-audited) or for its
applicant, the timeline, statistics per service.

Queues are built from the catalogue: "waiting for me at approval" is, per service, the states its approve/reject
actions start from, for the roles those actions allow. The filters use the indexes on (status, due_at),
(service_code, status) and (claimed_by, status), so a queue page stays a short index scan at 100,000
applications.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from jiaoguan.applications import rules
from jiaoguan.applications.catalogue import Service, Text, catalogue
from jiaoguan.applications.models import DONE_STATES, STAFF_STATES, Application, ApplicationEvent
from jiaoguan.core import clock, workdays
from jiaoguan.core.audit import Actor, audit_access
from jiaoguan.core.errors import forbidden, not_found
from jiaoguan.core.i18n import Bi, bi
from jiaoguan.core.masking import mask_account, mask_id_number, mask_phone

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


def _nothing() -> Q:
    return Q(pk__in=[])


def _stage_q(role: str, stage: str) -> Q:
    groups: dict[frozenset[str], list[str]] = defaultdict(list)
    for service in catalogue().services.values():
        states: set[str] = set()
        for verb in STAGE_VERBS[stage]:
            action = service.action(verb)
            if action is not None and role in action.allowed_roles():
                states.update(action.from_states)
        if states:
            groups[frozenset(states)].append(service.code)
    q = _nothing()
    for states, codes in groups.items():
        q |= Q(service_code__in=sorted(codes), status__in=sorted(states))
    if stage == "post_review":
        return q & Q(post_review_pending=True)
    return q & Q(post_review_pending=False)


def _mine(user) -> Q:
    """Everything some stage offers this user, not their own, not claimed by someone else."""
    q = _nothing()
    for stage in STAGE_VERBS:
        q |= _stage_q(user.role, stage)
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
        qs = qs.filter(_stage_q(user.role, name)).filter(Q(claimed_by__isnull=True) | Q(claimed_by=user))
        if name == "approval":
            qs = qs.exclude(accepted_by=user)  # separation of duties: never offered what I accepted
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


def queue_counts(*, user) -> dict[str, int]:
    return {name: queue(user=user, name=name).count() for name in QUEUES}


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


def form_display(*, application: Application, unmask: bool = False) -> list[tuple[str, Text, str]]:
    """(name, label, value) for every answered field, in the declaration's order; ID numbers and phones masked unless
    ``unmask`` (the caller audits an unmasked view)."""
    service = catalogue().get(application.service_code)
    data = application.form()
    if service is None:
        return [(k, Text(k, k), "***" if k in (application.form_personal or "") else str(v)) for k, v in data.items()]
    out = []
    for spec in service.fields:
        if spec.type == "file" or data.get(spec.name) in (None, ""):
            continue
        value = data[spec.name]
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
    from jiaoguan.identity.roles import has_permission

    return has_permission(user, "application.view") or has_permission(user, "application.stats")


def application_for_staff(*, application_id: int, user, ip: str = "", unmask: bool = False) -> Application:
    """An application with its applicant, events and materials for a member of staff; writes the access-audit
    row (every staff look at an applicant's data is recorded; "person.unmask" when unmasked)."""
    if not _staff_may_view(user):
        raise forbidden()
    app = (Application.objects.select_related("applicant", "enterprise", "accepted_by", "reviewed_by", "approved_by",
                                              "claimed_by")
           .prefetch_related("events", "materials").filter(pk=application_id).first())
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
    from jiaoguan.applications.services import DELIVERY_LABELS

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


def progress(*, application: Application) -> Progress:
    now = clock.now()
    if application.paused_workdays is not None and application.status == Application.Status.RETURNED:
        return Progress(application.due_at, True, application.paused_workdays, False)
    if application.due_at is None or application.status not in STAFF_STATES:
        return Progress(application.due_at, False, None, False)
    return Progress(application.due_at, False, rules.workdays_left(now, application.due_at),
                    application.due_at < now)


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
    tz = timezone.get_current_timezone()
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
