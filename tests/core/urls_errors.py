"""A throwaway URLconf for core's error tests: a local NinjaAPI with core's error handlers, and pages that raise.
Used with ``@pytest.mark.urls("tests.core.urls_errors")``; the project's api.py is not touched."""
from __future__ import annotations

from django.http import Http404, HttpResponse
from django.urls import path
from django.views.i18n import set_language
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.security import django_auth

from jiaoguan.core.api_errors import install_error_handlers
from jiaoguan.core.errors import Conflict, DomainError, not_found
from jiaoguan.core.identifiers import validate_plate

api = NinjaAPI(title="core error handlers (test)", version="0", urls_namespace="core-errors-test")
install_error_handlers(api)


class PlateIn(Schema):
    plate: str
    seats: int


@api.post("/plates", auth=None)
def plate_create(request, payload: PlateIn):
    return {"plate": validate_plate(payload.plate), "seats": payload.seats}


@api.get("/conflict", auth=None)
def conflict(request):
    raise Conflict("bookings.full", "该时段已约满", "This slot is fully booked", fields={"slot": ("已满", "Full")})


@api.get("/missing", auth=None)
def missing(request):
    raise Http404("no such thing")


@api.get("/not-yours", auth=None)
def not_yours(request):
    raise not_found("车辆", "vehicle")


@api.get("/secure", auth=django_auth)
def secure(request):
    return {"ok": True}


@api.get("/teapot", auth=None)
def teapot(request):
    raise HttpError(418, "I'm a teapot")


@api.get("/boom", auth=None)
def boom(request):
    raise RuntimeError("secret internals: password=hunter2")


def page_refuse(request):
    raise DomainError("licence.expired", "驾驶证已超过有效期", "The licence has expired", status=409,
                      fields={"licence": ("已过期", "Expired")})


def page_upload(request):
    request.POST  # noqa: B018 - reading the body is what raises RequestDataTooBig
    return HttpResponse("ok")


def page_crash(request):
    raise ValueError("not a domain error")


urlpatterns = [
    path("api/test/", api.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("pages/refuse", page_refuse),
    path("pages/upload", page_upload),
    path("pages/crash", page_crash),
    path("", lambda request: HttpResponse("home")),
]
