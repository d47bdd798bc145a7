"""The staff console: thin views. Every view checks its permission (a 403 page otherwise); every look at a
citizen's record goes through ``records.person_record_open``, which writes the access-audit row first."""
from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiaoguan.console.forms import AccessFilterForm, PersonSearchForm, StaffCreateForm, StaffLoginForm, UnmaskForm
from jiaoguan.console.records import person_record_open
from jiaoguan.core import masking
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.http import client_ip
from jiaoguan.core.i18n import bi, choice_label
from jiaoguan.core.models import AuditEntry
from jiaoguan.identity.selectors import staff_accounts, staff_by_username, staff_get, users_by_ids
from jiaoguan.identity.roles import Role, has_permission
from jiaoguan.identity.services import login_with_password, staff_create, staff_set_active
from jiaoguan.registry.selectors import person_get, persons_search
from jiaoguan.core.forms import form_error

PAGE_SIZE = 50


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


def _role_label(role: str):
    return choice_label(Role, role)


# --- log in / out ------------------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    status = 200
    form = StaffLoginForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                user = login_with_password(login=form.cleaned_data["username"], password=form.cleaned_data["password"],
                                           ip=client_ip(request))
            except DomainError as exc:
                status = form_error(form, exc, rename={"login": "username", "phone": "username"})
            else:
                if not user.is_police:
                    form.add_error(None, _("此入口仅供工作人员使用。市民请从市民门户登录。"))
                    status = 403
                else:
                    auth_login(request, user)
                    target = request.POST.get("next") or ""
                    if not (target.startswith("/console/") and url_has_allowed_host_and_scheme(
                            target, allowed_hosts={request.get_host()})):
                        target = reverse("console:index")
                    return redirect(target)
        else:
            status = 400
    return render(request, "console/login.html", {"form": form, "next": request.GET.get("next", "")}, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    return redirect("console:login")


# --- start page --------------------------------------------------------------------------------------------------

@staff_required()
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "role_label": _role_label(user.role),
        "can_search": has_permission(user, "person.search"),
        "can_audit": has_permission(user, "audit.view_access"),
        "can_manage": has_permission(user, "staff.manage"),
        "search_form": PersonSearchForm(),
    }
    return render(request, "console/index.html", context)


# --- persons -----------------------------------------------------------------------------------------------------

@staff_required("person.search")
def person_search(request: HttpRequest) -> HttpResponse:
    status = 200
    results = None
    form = PersonSearchForm(request.GET or None)
    if request.GET:
        if form.is_valid():
            data = form.cleaned_data
            try:
                persons = persons_search(id_number=data["id_number"].strip() or None, plate=data["plate"].strip() or None)
            except DomainError as exc:
                status = form_error(form, exc)
            else:
                results = [{"id": p.pk, "name": masking.mask_name(p.name), "id_number": masking.mask_id_number(p.id_number),
                            "gender": p.get_gender_display()} for p in persons]
        else:
            status = 400
    return render(request, "console/person_search.html", {"form": form, "results": results}, status=status)


@staff_required("person.view")
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    record = person_record_open(user=request.user, ip=client_ip(request), person_id=person_id)
    return _record_page(request, record, UnmaskForm())


@staff_required("person.unmask")
@require_POST
def person_unmask(request: HttpRequest, person_id: int) -> HttpResponse:
    form = UnmaskForm(request.POST)
    if not form.is_valid():
        # no unmask without a reason: show the masked record again (itself an audited view) with the message
        record = person_record_open(user=request.user, ip=client_ip(request), person_id=person_id)
        return _record_page(request, record, form, status=400)
    record = person_record_open(user=request.user, ip=client_ip(request), person_id=person_id, unmask=True,
                                reason=form.cleaned_data["reason"])
    return _record_page(request, record, None)


def _record_page(request, record, unmask_form, status: int = 200) -> HttpResponse:
    context = {
        "record": record,
        "unmask_form": unmask_form,
        "can_unmask": has_permission(request.user, "person.unmask"),
    }
    response = render(request, "console/person_detail.html", context, status=status)
    response["Cache-Control"] = "no-store"  # personal data: never kept by the browser or a proxy
    return response


# --- the auditor's list ------------------------------------------------------------------------------------------

@staff_required("audit.view_access")
def access_log(request: HttpRequest) -> HttpResponse:
    status = 200
    form = AccessFilterForm(request.GET or None)
    rows = AuditEntry.objects.filter(kind=AuditEntry.Kind.ACCESS).order_by("-id")
    if form.is_bound and not form.is_valid():
        status = 400
    elif form.is_valid():
        staff = form.cleaned_data["staff"].strip()
        id_number = form.cleaned_data["id_number"].strip()
        if staff:
            account = staff_by_username(username=staff)
            if account is None:
                form.add_error("staff", _("没有这个工作人员账户"))
                status = 400
            else:
                rows = rows.filter(actor_id=account.pk)
        if id_number:
            try:
                person_ids = [p.pk for p in persons_search(id_number=id_number)]
            except DomainError as exc:
                status = form_error(form, exc, rename={"plate": "id_number"})
            else:
                rows = rows.filter(subject_person_id__in=person_ids)
    if status != 200:
        rows = rows.none()
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))

    subjects: dict[int, dict] = {}
    for entry in page:
        pid = entry.subject_person_id
        if pid is not None and pid not in subjects:
            try:
                person = person_get(person_id=pid)
            except NotFound:
                subjects[pid] = {"name": "—", "id_number": "—"}
            else:
                subjects[pid] = {"name": masking.mask_name(person.name), "id_number": masking.mask_id_number(person.id_number)}
    staff = users_by_ids(ids={e.actor_id for e in page if e.actor_id is not None})
    entries = [{
        "entry": e,
        "who": _who(staff.get(e.actor_id), e.actor_label),
        "role": _role_label(e.actor_role),
        "subject": subjects.get(e.subject_person_id, {"name": "—", "id_number": "—"}),
        "action": _ACTIONS.get(e.action, e.action),
        "fields": (e.new or {}).get("fields") or [],
    } for e in page]
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "entries": entries, "query": query.urlencode()}
    return render(request, "console/access_log.html", context, status=status)


def _who(user, label: str) -> str:
    """The staff member's name and username as they are now; the label written at the time if the account is gone."""
    if user is None:
        return label
    return f"{user.display_name}（{user.username}）" if user.display_name else user.username


_ACTIONS = {
    "person.view": bi("查看（已脱敏）", "Viewed (masked)"),
    "person.unmask": bi("查看完整信息", "Unmasked"),
    "dispute.view": bi("查看申诉材料", "Viewed a dispute"),
}


# --- staff accounts ----------------------------------------------------------------------------------------------

@staff_required("staff.manage")
@require_http_methods(["GET", "POST"])
def staff_list(request: HttpRequest) -> HttpResponse:
    status = 200
    form = StaffCreateForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = staff_create(actor=request.user, username=data["username"].strip(),
                                       display_name=data["display_name"].strip(), role=data["role"],
                                       password=data["password"], phone=data["phone"].strip() or None)
            except DomainError as exc:
                status = form_error(form, exc)
            else:
                messages.success(request, _("已创建工作人员账户 %(username)s") % {"username": created.username})
                return redirect("console:staff")
        else:
            status = 400
    staff = [{
        "user": u, "role": _role_label(u.role), "phone": masking.mask_phone(u.phone),
    } for u in staff_accounts()]
    return render(request, "console/staff.html", {"form": form, "staff": staff}, status=status)


@staff_required("staff.manage")
@require_POST
def staff_active(request: HttpRequest, user_id: int) -> HttpResponse:
    target = staff_get(user_id=user_id)
    if target is None:
        raise NotFound("console.staff_not_found", "工作人员账户不存在", "The staff account does not exist")
    active = request.POST.get("active") == "1"
    staff_set_active(actor=request.user, user=target, active=active)
    if active:
        messages.success(request, _("已启用账户 %(username)s") % {"username": target.username})
    else:
        messages.success(request, _("已停用账户 %(username)s") % {"username": target.username})
    return redirect("console:staff")
