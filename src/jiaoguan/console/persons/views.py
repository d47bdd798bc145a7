"""Persons' records in the console: search, the record (every look goes through ``records.person_record_open``,
which writes the access-audit row first), unmasking with a reason, and the auditor's list of those looks."""
from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiaoguan.console.forms import AccessFilterForm, PersonSearchForm, UnmaskForm
from jiaoguan.console.persons.records import person_record_open
from jiaoguan.console.views import staff_required
from jiaoguan.core import masking
from jiaoguan.core.audit import access_entries
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.forms import form_error
from jiaoguan.core.http import client_ip
from jiaoguan.core.i18n import bi, choice_label
from jiaoguan.identity.roles import Role, has_permission
from jiaoguan.identity.selectors import staff_by_username, users_by_ids
from jiaoguan.registry.selectors import person_get, persons_search

PAGE_SIZE = 50


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
    filters: dict = {}
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
                filters["actor_id"] = account.pk
        if id_number:
            try:
                person_ids = [p.pk for p in persons_search(id_number=id_number)]
            except DomainError as exc:
                status = form_error(form, exc, rename={"plate": "id_number"})
            else:
                filters["subject_person_ids"] = person_ids
    rows = access_entries(**filters) if status == 200 else access_entries().none()
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
        "role": choice_label(Role, e.actor_role),
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
