"""企业用户首页 (an enterprise account's home): the company (name, masked USCC), its vehicles with their status,
inspection and insurance, the account's applications with their status, the counter appointments booked for the
company, and what an enterprise can do here (truck pass, parking-lot licence, counter batch booking).

Thin: every figure comes from a selector of the owning app (identity: the company and its vehicles; applications:
the account's applications; counters: the company's appointments). Only enterprise accounts see it; a citizen is
answered 403 (their home is "我的"), staff go to the console, visitors to the login page.
"""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from jiaoguan.applications.catalogue import catalogue
from jiaoguan.applications.selectors import my_application_lines
from jiaoguan.counters.selectors import enterprise_appointments
from jiaoguan.identity.selectors import account_vehicles, is_enterprise_account, my_enterprise
from jiaoguan.notifications.selectors import unread_count
from jiaoguan.portal.applications.forms import pick_text
from jiaoguan.portal.applications.views import TONES as APPLICATION_TONES
from jiaoguan.portal.counters.views import _rows as appointment_rows
from jiaoguan.portal.views import citizen_required

# What an enterprise can do here: catalogue services (listed only while the catalogue declares them for
# enterprises) and the counters' batch booking.
ENTERPRISE_SERVICES = ("truck_pass", "parking_licence")
SHOWN = 10


def _service_links() -> list[dict]:
    links = []
    for code in ENTERPRISE_SERVICES:
        service = catalogue().get(code)
        if service is None or "enterprise" not in service.applicants:
            continue
        links.append({"code": code, "name": pick_text(service.name), "summary": pick_text(service.summary),
                      "url": reverse("portal:applications_portal:apply", args=[code])})
    return links


@citizen_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not is_enterprise_account(user):
        return render(request, "portal/enterprise/forbidden.html", status=403)
    company = my_enterprise(user=user)
    appointments = list(enterprise_appointments(user=user)[:SHOWN])
    return render(request, "portal/enterprise/home.html", {
        "company": company,
        "vehicles": account_vehicles(user=user),
        "applications": [{"line": line, "tone": APPLICATION_TONES.get(line.status, "")}
                         for line in my_application_lines(user=user, limit=SHOWN)],
        "appointments": appointment_rows(appointments),
        "services": _service_links() if company is not None else [],
        "unread": unread_count(user=user),
    })
