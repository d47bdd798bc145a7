"""考试预约 (citizens' driving-test booking): my permit and progress, sessions open for my next subject with seats
and how many applied, apply (ranked), my applications with the live rank, withdraw, the published result,
cancel an allocated seat. Thin views over ``jiaoguan.exams`` services and selectors; every form works without
JavaScript, and the POSTs that move seats carry a hidden idempotency key (a double click is one request).
"""
from __future__ import annotations

import json
import secrets

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from jiaoguan.bookings import rules as booking_rules
from jiaoguan.core.errors import DomainError, InvalidInput
from jiaoguan.core.http import actor_of
from jiaoguan.core.i18n import bi
from jiaoguan.core.idempotency import once_for
from jiaoguan.core.ids import parse_id
from jiaoguan.exams import rules, selectors, services
from jiaoguan.portal.views import citizen_required

HOME = "portal:exams_portal:home"



def _render(request: HttpRequest, *, error: DomainError | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    views = [selectors.permit_view(permit=p) for p in selectors.my_permits(user=user)]
    apps = selectors.my_exam_applications(user=user)
    # (permit, subject) with a pending application or a seat: not offered again, shown as booked
    live = {selectors.parse_booking_subject(r.application.subject) for r in apps
            if r.application.status == "pending"
            or (r.booking is not None and r.booking.status in booking_rules.BOOKING_RUNNING)}
    for v in views:
        for row in v.progress:
            row["booked"] = (v.permit.pk, row["subject"]) in live
    # which permit applies for which subject (a person may learn two classes at once)
    permit_for: dict[str, int] = {}
    for v in views:
        for s in v.next_subjects:
            if (v.permit.pk, s) not in live:
                permit_for.setdefault(s, v.permit.pk)
    venue = (request.GET.get("venue") or "").strip().upper()[:30] or None
    sessions = selectors.open_sessions(subjects=sorted(permit_for), venue_code=venue) if permit_for else []
    pending_sessions = {r.session.pk for r in apps if r.session and r.application.status == "pending"}
    session_rows = [{"row": r, "permit_id": permit_for.get(r.session.subject),
                     "applied": r.session.pk in pending_sessions,
                     "subject": bi(rules.SUBJECT_INFO[r.session.subject].short_zh,
                                   rules.SUBJECT_INFO[r.session.subject].short_en),
                     "venue": bi(r.session.venue.name_zh, r.session.venue.name_en),
                     "key": secrets.token_urlsafe(18)} for r in sessions]
    app_rows = [{"row": r, "venue": bi(r.session.venue.name_zh, r.session.venue.name_en) if r.session else "",
                 "subject": bi(rules.SUBJECT_INFO[r.subject].short_zh, rules.SUBJECT_INFO[r.subject].short_en)
                 if r.subject else "", "key": secrets.token_urlsafe(18)} for r in apps]
    next_names = [bi(rules.SUBJECT_INFO[s].short_zh, rules.SUBJECT_INFO[s].short_en) for s in sorted(permit_for)]
    error_lines = []
    if error is not None:
        error_lines = list(dict.fromkeys(error.field_messages().values())) or [error.message()]
    venues = sorted({r.session.venue.code: r.session.venue for r in sessions}.values(), key=lambda v: v.code)
    context = {
        "permits": views, "sessions": session_rows, "applications": app_rows, "error_lines": error_lines,
        "next_names": next_names, "venue": venue or "", "venues": [(v.code, bi(v.name_zh, v.name_en)) for v in venues],
        "max_bookings": rules.MAX_BOOKINGS, "close_workdays": rules.CLOSE_WORKDAYS_BEFORE,
        "valid_years": rules.VALID_YEARS,
    }
    return render(request, "portal/exams/home.html", context, status=status)


def _failed(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _render(request, error=exc, status=exc.status if 400 <= exc.status < 500 else 400)


def _expired() -> DomainError:
    return InvalidInput("core.idempotency_key", "页面已过期，请重新提交", "The page expired; submit again")


@citizen_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return _render(request)


@citizen_required
@require_POST
def apply(request: HttpRequest) -> HttpResponse:
    session_id = parse_id(request.POST.get("session_id"))
    permit_id = parse_id(request.POST.get("permit_id"))
    key = request.POST.get("idempotency_key") or ""
    if session_id is None:
        return _failed(request, InvalidInput("exams.session_required", "请选择考试场次", "Choose an exam session",
                                             field="session_id"))
    if not key:
        return _failed(request, _expired())
    user = request.user

    def run():
        a = services.exam_apply(user=user, session_id=session_id, permit_id=permit_id, actor=actor_of(request))
        return 201, {"id": a.pk}

    try:
        once_for(user, "exam-apply", key=key,
                 fingerprint=json.dumps({"session_id": session_id, "permit_id": permit_id}, sort_keys=True), run=run)
    except DomainError as exc:
        return _failed(request, exc)
    row = next((r for r in selectors.my_exam_applications(user=user) if r.session and r.session.pk == session_id
                and r.application.status == "pending"), None)
    if row is not None:
        messages.success(request, _("预约申请已提交，当前排名第%(rank)s位，名额%(seats)s个。预约截止后按排名分配。")
                         % {"rank": row.rank, "seats": row.seats})
    return redirect(HOME)


@citizen_required
@require_POST
def withdraw(request: HttpRequest, application_id: int) -> HttpResponse:
    try:
        services.exam_withdraw(user=request.user, application_id=application_id, actor=actor_of(request))
    except DomainError as exc:
        return _failed(request, exc)
    messages.success(request, _("已撤回预约申请。"))
    return redirect(HOME)


@citizen_required
@require_POST
def cancel(request: HttpRequest, booking_id: int) -> HttpResponse:
    key = request.POST.get("idempotency_key") or ""
    if not key:
        return _failed(request, _expired())
    user = request.user

    def run():
        b = services.exam_cancel(user=user, booking_id=booking_id, actor=actor_of(request))
        return 200, {"reference": b.reference}

    try:
        _status, body = once_for(user, "exam-cancel", key=key, fingerprint=str(booking_id), run=run)
    except DomainError as exc:
        return _failed(request, exc)
    messages.success(request, _("已取消预约（预约号 %(ref)s）。取消时间将作为您下次预约的排序时间。") % {"ref": body["reference"]})
    return redirect(HOME)
