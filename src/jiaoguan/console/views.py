"""The staff console's front door: the access rule every console page uses (``staff_required``: a 403 page
without the permission) and the start page. Staff accounts are in ``console.accounts``; persons' records (every
look through ``console.persons.records.person_record_open``, which writes the access-audit row first) in
``console.persons``."""
from __future__ import annotations

from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from jiaoguan.console.forms import PersonSearchForm
from jiaoguan.core.i18n import choice_label
from jiaoguan.identity.roles import Role, has_permission


def staff_required(permission: str | None = None):
    """Anonymous → the console's login page; citizens and staff without ``permission`` → a 403 page."""

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                back = request.get_full_path() if request.method == "GET" else reverse("console:index")
                return redirect(f"{reverse('console:login')}?{urlencode({'next': back})}")
            if not user.is_police or (permission and not has_permission(user, permission)):
                return render(request, "console/forbidden.html", {"permission": permission}, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# --- start page --------------------------------------------------------------------------------------------------

@staff_required()
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "role_label": choice_label(Role, user.role),
        "can_search": has_permission(user, "person.search"),
        "can_audit": has_permission(user, "audit.view_access"),
        "can_manage": has_permission(user, "staff.manage"),
        "search_form": PersonSearchForm(),
    }
    return render(request, "console/index.html", context)
