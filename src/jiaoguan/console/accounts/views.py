"""The console's staff accounts: logging in and out, the administrator's list of staff accounts (create,
disable, enable), and API bearer tokens: a staff member sees and revokes their own, an administrator any staff
member's (never the token itself: only its label, when it was issued and last used, when it ends)."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiaoguan.console.forms import StaffCreateForm, StaffLoginForm
from jiaoguan.console.views import staff_required
from jiaoguan.core import clock, masking
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.forms import form_error
from jiaoguan.core.http import client_ip
from jiaoguan.core.i18n import choice_label
from jiaoguan.identity.roles import Role, has_permission
from jiaoguan.identity.selectors import live_tokens, staff_accounts, staff_get, token_holder_visible
from jiaoguan.identity.services import login_with_password, staff_create, staff_set_active, token_revoke_by_id

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
        "user": u, "role": choice_label(Role, u.role), "phone": masking.mask_phone(u.phone),
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


# --- API tokens --------------------------------------------------------------------------------------------------

def _tokens_page(request: HttpRequest, *, holder) -> HttpResponse:
    now = clock.now()
    is_self = holder.pk == request.user.pk
    others = None
    if is_self and has_permission(request.user, "staff.manage"):
        others = live_tokens(exclude_holder=request.user.pk, now=now)
    context = {
        "holder": holder, "is_self": is_self, "tokens": live_tokens(holders=[holder], now=now), "others": others,
        "session_hours": settings.SESSION_COOKIE_AGE / 3600,
    }
    return render(request, "console/tokens.html", context)


@staff_required()
@require_http_methods(["GET"])
def my_tokens(request: HttpRequest) -> HttpResponse:
    """The staff member's own live tokens (an administrator also sees every other staff member's)."""
    return _tokens_page(request, holder=request.user)


@staff_required()
@require_http_methods(["GET"])
def staff_tokens(request: HttpRequest, user_id: int) -> HttpResponse:
    """One account's live tokens: the viewer's own, or (an administrator) a staff member's; otherwise 404."""
    holder = token_holder_visible(viewer=request.user, holder_id=user_id)
    if holder is None:
        raise NotFound("console.staff_not_found", "工作人员账户不存在", "The staff account does not exist")
    return _tokens_page(request, holder=holder)


@staff_required()
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke a listed token (404 for one the viewer may not see); the next API call with it is a 401."""
    row = token_revoke_by_id(actor=request.user, token_id=token_id, ip=client_ip(request))
    messages.success(request, _("令牌已撤销，使用它的应用需要重新登录。"))
    if row.user_id == request.user.pk or request.POST.get("back") == "mine":
        return redirect("console:tokens")
    return redirect("console:staff_tokens", user_id=row.user_id)
