"""The citizen's own records at /api/v1/, served from the read model (records.selectors): one indexed lookup for
the token, one for the part, a decryption, and the stored JSON as it is. Each answer carries an ``ETag``; a
request with a matching ``If-None-Match`` gets a 304 without the body. ``Cache-Control`` stays the platform's
``private, no-store`` for personal answers (core.middleware): no browser or proxy keeps a copy on disk (a shared
computer at a library, an internet café); an app that keeps the citizen's records in its own storage sends the
ETag it holds and gets a 304 when nothing changed.

    GET /api/v1/me               the account
    GET /api/v1/me/licences      the driving licence (a list of at most one)
    GET /api/v1/me/vehicles      own vehicles and vehicles of others bound with the owner's consent
    GET /api/v1/me/violations    their violations, newest first (at most 200); ?status= reads the records directly
    GET /api/v1/me/summary       everything at a glance: licence, vehicles needing attention, violations, payments
                                 due, upcoming bookings, open applications (counts and the one that matters most)
"""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from jiaoguan.core.api_errors import ERRORS
from jiaoguan.core.http import language_of
from jiaoguan.identity.auth import AUTH, current_user
from jiaoguan.identity.schemas import LicenceOut, MeOut, VehicleOut
from jiaoguan.records import parts, selectors
from jiaoguan.records.schemas import SummaryOut
from jiaoguan.violations import render as violations_render
from jiaoguan.violations import selectors as violations
from jiaoguan.violations.schemas import ViolationOut

router = Router(tags=["my records"])


def _matches(header: str, etag: str) -> bool:
    """RFC 9110 If-None-Match (weak comparison): ``*`` or any listed tag equal to ours."""
    tags = [t.strip() for t in header.split(",") if t.strip()]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


def _answer(request: HttpRequest, part: str) -> HttpResponse:
    user = current_user(request)
    found = selectors.part_for(user_id=user.pk, part=part, language=language_of(request))
    etag = f'"{found.etag}"'
    if found.etag and _matches(request.headers.get("If-None-Match", ""), etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(found.body(), content_type="application/json; charset=utf-8")
    if found.etag:
        response["ETag"] = etag
    response["Vary"] = "Authorization, Cookie, Accept-Language"
    return response


@router.get("me", auth=AUTH, response={200: MeOut, **ERRORS}, summary="The logged-in account")
def me(request):
    return _answer(request, "me")


@router.get("me/licences", auth=AUTH, response={200: list[LicenceOut], **ERRORS}, summary="My driving licence")
def my_licences(request):
    return _answer(request, "licences")


@router.get("me/vehicles", auth=AUTH, response={200: list[VehicleOut], **ERRORS},
            summary="My vehicles: own and bound vehicles of others")
def my_vehicles(request):
    return _answer(request, "vehicles")


@router.get("me/violations", auth=AUTH, response={200: list[ViolationOut], **ERRORS}, exclude_unset=True,
            summary="My violations")
def my_violations(request, status: str | None = None):
    if not status:
        return _answer(request, "violations")
    user = current_user(request)
    rows = violations.my_violations(user=user, status=status)[:parts.VIOLATIONS_LISTED]
    return [violations_render.violation_out(v) for v in rows]


@router.get("me/summary", auth=AUTH, response={200: SummaryOut, **ERRORS},
            summary="My records at a glance: licence, vehicles, violations, payments due, bookings, applications")
def my_summary(request):
    return _answer(request, "summary")
