"""Staff plate pages: pools per issuing office with counts by kind and status, generating a series, the numbers
held now, and the withholding policies (list, add, deactivate).

Clerks view; approvers and administrators change (``plates.manage`` in ``identity.roles.PERMISSIONS`` once it
exists there, else those two roles). Views only parse, authorise, call ``plates.services`` and render.
"""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jiaoguan.console.submit import submit
from jiaoguan.console.views import staff_required
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.http import actor_of
from jiaoguan.identity.roles import has_permission
from jiaoguan.plates import selectors, services


def can_manage(user) -> bool:
    """Generating numbers and changing policies: the permission the plates services require."""
    return has_permission(user, services.MANAGE)


def plates_staff(manage: bool = False):
    return staff_required(services.MANAGE if manage else "plate.view")


class GenerateForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("号牌种类"), choices=selectors.PlateKind.choices)
    series = forms.CharField(label=gettext_lazy("号段"), max_length=6,
                             help_text=gettext_lazy("# 数字，@ 字母，* 字母或数字，例如 A#### 或 D0####"))


class PolicyForm(forms.Form):
    office = forms.TypedChoiceField(label=gettext_lazy("发牌机关"), coerce=int, choices=())
    name = forms.CharField(label=gettext_lazy("名称"), max_length=60)
    rule = forms.ChoiceField(label=gettext_lazy("规则"), choices=selectors.WithholdRule.choices)
    value = forms.CharField(label=gettext_lazy("值"), max_length=80)
    kind = forms.ChoiceField(label=gettext_lazy("号牌种类"), required=False,
                             choices=[("", gettext_lazy("全部"))] + list(selectors.PlateKind.choices))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].choices = [(o.pk, f"{o.prefix} {o.name}") for o in selectors.offices()]


def _index(request: HttpRequest, *, generate_form: GenerateForm | None = None, form_office: int | None = None,
           report=None, status: int = 200) -> HttpResponse:
    statuses = selectors.PlateNumberStatus.choices
    rows = []
    for o in selectors.offices():
        counts = selectors.pool_counts(office=o)
        form = generate_form if (generate_form is not None and form_office == o.pk) else None
        rows.append({"office": o, "kinds": [(label, [counts.get(value, {}).get(s, 0) for s, _l in statuses])
                                            for value, label in selectors.PlateKind.choices],
                     "form": form or GenerateForm(auto_id=f"id_{o.pk}_%s")})
    context = {"rows": rows, "statuses": statuses, "holds": selectors.holds(limit=100),
               "can_manage": can_manage(request.user), "report": report}
    return render(request, "console/plates/index.html", context, status=status)


@plates_staff()
def index(request: HttpRequest) -> HttpResponse:
    return _index(request)


@plates_staff(manage=True)
@require_POST
def generate(request: HttpRequest, office_id: int) -> HttpResponse:
    try:
        office = selectors.office_get(office_id=office_id)
    except DomainError:
        raise Http404 from None
    form = GenerateForm(request.POST, auto_id=f"id_{office.pk}_%s")
    report, status = submit(form, lambda data: services.plate_pool_generate(
        office=office, kind=data["kind"], series=data["series"], actor=actor_of(request)))
    if report is None:
        return _index(request, generate_form=form, form_office=office.pk, status=status)
    return _index(request, report=report)


@plates_staff()
def policies(request: HttpRequest) -> HttpResponse:
    return _policies(request, PolicyForm())


def _policies(request: HttpRequest, form: PolicyForm, status: int = 200) -> HttpResponse:
    return render(request, "console/plates/policies.html",
                  {"policies": selectors.policies(), "form": form, "can_manage": can_manage(request.user)},
                  status=status)


@plates_staff(manage=True)
@require_POST
def policy_add(request: HttpRequest) -> HttpResponse:
    form = PolicyForm(request.POST)
    policy, status = submit(form, lambda data: services.policy_add(
        office=selectors.office_get(office_id=data["office"]), name=data["name"], rule=data["rule"],
        value=data["value"], kind=data["kind"], actor=actor_of(request)))
    if policy is None:
        return _policies(request, form, status=status)
    messages.success(request, _("已添加保留策略：%(name)s") % {"name": policy.name})
    return redirect("console:plates_console:policies")


@plates_staff(manage=True)
@require_POST
def policy_deactivate(request: HttpRequest, policy_id: int) -> HttpResponse:
    try:
        policy = selectors.policy_get(policy_id=policy_id)
    except NotFound:
        raise Http404 from None
    try:
        services.policy_deactivate(policy=policy, actor=actor_of(request))
    except DomainError as exc:
        messages.error(request, exc.message())
    else:
        messages.success(request, _("已停用保留策略：%(name)s") % {"name": policy.name})
    return redirect("console:plates_console:policies")
