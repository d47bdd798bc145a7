"""Identity API at /api/v1/: registration, login (session or bearer token), logout, password reset, me, my
licences, my vehicles, my bindings. Endpoints parse, authorise, call a service or selector and render; errors
are domain errors rendered by core.api_errors as ``{code, message, fields?}`` in the request's language.

A citizen only ever reaches their own records: every lookup is scoped to the authenticated user, and a
binding id that is someone else's answers exactly like one that does not exist (404).
"""
from __future__ import annotations

from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.contrib.auth import update_session_auth_hash
from django.middleware.csrf import get_token
from ninja import Path, Router, Status
from ninja.utils import check_csrf

from jiaoguan.core.api_errors import ERRORS
from jiaoguan.core.audit import audit_entry_proof
from jiaoguan.core.audit_api import AuditProofOut
from jiaoguan.core.errors import InvalidInput
from jiaoguan.core.http import client_ip, language_of
from jiaoguan.core.i18n import bi, text
from jiaoguan.core.masking import mask_phone
from jiaoguan.identity import render, selectors, services
from jiaoguan.identity.auth import AUTH, csrf_failed, current_user, optional_user
from jiaoguan.identity.models import PhoneOnFileChange, User
from jiaoguan.identity.schemas import (
    BindingConfirmIn,
    BindingOut,
    BindingRequestIn,
    CsrfOut,
    LoginIn,
    LoginOut,
    MeOut,
    ObjectionIn,
    OkOut,
    PasswordResetIn,
    PhoneChangeIn,
    PhoneFileChangeIn,
    PhoneFileChangeOut,
    RegisterIn,
    SmsCodeIn,
)

router = Router(tags=["identity"])
BACKEND = "jiaoguan.identity.backends.PhoneOrUsernameBackend"
BindingId = Path(..., ge=1, le=2**63 - 1, description="a binding id from GET me/bindings")
AuditEntryId = Path(..., ge=1, le=2**63 - 1, description="an audit entry id about the citizen")


def _pick(request, zh: str, en: str) -> str:
    return bi(zh, en).pick(language_of(request))


def _label(request, label) -> str:
    """A choice label (a core.i18n pair) in the request's language."""
    return text(label, language_of(request))


def _binding(request, b) -> dict:
    return {
        "id": b.id, "kind": b.kind, "status": b.status, "status_label": _label(request, b.status_label),
        "plate": b.plate, "plate_type": b.plate_type, "requested_at": b.requested_at, "bound_at": b.bound_at,
        "ended_at": b.ended_at,
    }


def _binding_out(request, user: User, binding_id: int) -> dict:
    view = selectors.binding_of(user=user, binding_id=binding_id)
    return _binding(request, view)


# --- auth ---------------------------------------------------------------------------------------------------------

@router.get("auth/csrf", auth=None, response=CsrfOut, summary="Get a CSRF token (sets the csrftoken cookie)")
def csrf(request):
    # get_token marks the cookie for sending; CsrfViewMiddleware sets it on the response
    return {"csrf_token": get_token(request)}


@router.post("auth/sms-code", auth=None, response={200: OkOut, **ERRORS}, summary="Send a one-time SMS code",
             description="Purposes register, login and reset need no login. Purpose phone needs a logged-in caller "
                         "(bearer token, or session with the CSRF token) and sends the code to the new phone.")
def sms_code(request, payload: SmsCodeIn):
    user = optional_user(request) if payload.purpose in ("phone", "phone_file") else None
    services.sms_code_request(phone=payload.phone, purpose=payload.purpose, ip=client_ip(request), user=user)
    # The same answer whether or not the number has an account.
    return {"ok": True, "message": _pick(request, "如该手机号可以接收，验证码已发送", "If the number can receive it, a code has been sent")}


@router.post("auth/register", auth=None, response={201: MeOut, **ERRORS}, summary="Real-name registration")
def register(request, payload: RegisterIn):
    user = services.citizen_register(phone=payload.phone, code=payload.code, name=payload.name,
                                     id_number=payload.id_number, password=payload.password, ip=client_ip(request))
    return Status(201, render.me_out(language_of(request), user))


@router.post("auth/login", auth=None, response={200: LoginOut, **ERRORS},
             summary="Log in by password or SMS code; mode session (browser) or token (apps)",
             description="A token is returned once; only its hash is kept. A citizen's or an enterprise's token "
                         "lasts JIAOGUAN_TOKEN_TTL_DAYS (30 days); a staff member's no longer than a console "
                         "session (JIAOGUAN_SESSION_AGE, 8 hours). It stops working (401) once revoked (auth/logout, "
                         "or in the console), when the account is disabled or when its password changes.")
def login(request, payload: LoginIn):
    if payload.mode == "session" and check_csrf(request) is not None:
        raise csrf_failed()
    ip = client_ip(request)
    if payload.code:
        user = services.login_with_sms(phone=payload.phone or payload.login or "", code=payload.code, ip=ip)
    elif payload.password:
        user = services.login_with_password(login=payload.login or payload.phone or "", password=payload.password,
                                            ip=ip)
    else:
        raise InvalidInput("identity.login_secret", "请填写密码或短信验证码", "Enter a password or an SMS code",
                           fields={"password": ("请填写密码或短信验证码", "Enter a password or an SMS code")})
    if payload.mode == "token":
        token = services.token_issue(user=user, label=payload.label)
        expires = selectors.token_expires_at(token=token)
        return {"mode": "token", "user": render.me_out(language_of(request), user), "token": token, "token_expires_at": expires}
    django_login(request, user, backend=BACKEND)
    return {"mode": "session", "user": render.me_out(language_of(request), user), "token": None, "token_expires_at": None}


@router.post("auth/logout", auth=AUTH, response={200: OkOut, **ERRORS},
             summary="Log out: ends the session, or revokes the bearer token used")
def logout(request):
    user = current_user(request)
    if getattr(request, "auth_method", "") == "bearer":
        token = request.headers.get("Authorization", "").partition(" ")[2].strip()
        services.token_revoke(user=user, token=token, ip=client_ip(request))
    else:
        django_logout(request)
    return {"ok": True, "message": _pick(request, "已退出登录", "Logged out")}


@router.post("auth/password-reset", auth=None, response={200: OkOut, **ERRORS},
             summary="Set a new password with an SMS code (also unlocks the account)")
def password_reset(request, payload: PasswordResetIn):
    services.password_reset(phone=payload.phone, code=payload.code, new_password=payload.new_password,
                            ip=client_ip(request))
    return {"ok": True, "message": _pick(request, "密码已重置，请使用新密码登录", "Password reset; log in with the new password")}


# --- me -------------------------------------------------------------------------------------------------------------

@router.post("me/phone", auth=AUTH, response={200: MeOut, **ERRORS},
             summary="Change the account's phone (code sent to the new phone + current password)",
             description="Revokes every other API token of the account. When the new phone is the phone on file, "
                         "the licence and own vehicles are shown again (phone_mismatch becomes false).")
def phone_change(request, payload: PhoneChangeIn):
    user = current_user(request)
    keep = None
    if getattr(request, "auth_method", "") == "bearer":
        keep = request.headers.get("Authorization", "").partition(" ")[2].strip()
    user = services.account_phone_change(user=user, new_phone=payload.new_phone, code=payload.code,
                                         password=payload.password, ip=client_ip(request), keep_token=keep)
    if getattr(request, "auth_method", "") != "bearer":
        update_session_auth_hash(request, user)  # this session stays; the account's others end
    return render.me_out(language_of(request), user)


def _phone_file(request, change) -> dict:
    return {"id": change.id, "status": change.status, "status_label": _label(request, PhoneOnFileChange.Status(change.status).label),
            "new_phone": mask_phone(change.new_phone or ""), "requested_at": change.requested_at,
            "effective_at": change.effective_at, "ended_at": change.ended_at}


@router.get("me/phone-on-file", auth=AUTH, response={200: PhoneFileChangeOut | None, **ERRORS},
            summary="My latest change of the phone on file 预留手机号变更",
            description="null when none was ever asked for online.")
def phone_file_latest(request):
    change = selectors.phone_file_change_latest(user=current_user(request))
    return None if change is None else _phone_file(request, change)


@router.post("me/phone-on-file", auth=AUTH, response={201: PhoneFileChangeOut, **ERRORS},
             summary="Ask to change the phone on file (code to the new phone + current password)",
             description="Only while the account's phone is the phone on file. The change cools off for "
                         "JIAOGUAN_PHONE_FILE_COOLING_HOURS (72 h) before it takes effect; the old number is sent an "
                         "objection code (POST auth/phone-on-file/object). In effect, the phone on file and the "
                         "account's phone both become the new number and every API token is revoked.")
def phone_file_request(request, payload: PhoneFileChangeIn):
    change = services.phone_on_file_change_request(user=current_user(request), new_phone=payload.new_phone,
                                                   code=payload.code, password=payload.password,
                                                   ip=client_ip(request))
    return Status(201, _phone_file(request, change))


@router.post("me/phone-on-file/cancel", auth=AUTH, response={200: PhoneFileChangeOut, **ERRORS},
             summary="Withdraw my change of the phone on file while it is cooling off")
def phone_file_cancel(request):
    change = services.phone_on_file_change_cancel(user=current_user(request), ip=client_ip(request))
    return _phone_file(request, change)


@router.post("auth/phone-on-file/object", auth=None, response={200: OkOut, **ERRORS},
             summary="Stop a change of the phone on file with the code the old number received (no login)",
             description="Limited per client address; every refusal is the same 422 on code.")
def phone_file_object(request, payload: ObjectionIn):
    services.phone_on_file_change_object(code=payload.code, ip=client_ip(request))
    return {"ok": True, "message": _pick(request, "已撤销，预留手机号不变", "Stopped; the phone on file stays as it was")}


@router.get("me/audit/{entry_id}/proof", auth=AUTH, response={200: AuditProofOut, **ERRORS},
            summary="Proof that a record about me is in the audit log 我的审计记录的存在证明",
            description="For an audit entry whose subject is the logged-in citizen (e.g. a staff member's look at "
                        "their record): the entry, its digest and the RFC 9162 audit path to the latest signed "
                        "tree head; check it with the keys of GET audit/keys (docs/audit.md). 409 while the entry "
                        "waits for the sealer; 404 for any entry not about the citizen.")
def my_audit_proof(request, entry_id: int = AuditEntryId):
    user = current_user(request)
    return audit_entry_proof(entry_id, person_id=user.person_id)


@router.get("me/bindings", auth=AUTH, response={200: list[BindingOut], **ERRORS}, summary="My vehicle bindings")
def my_bindings(request):
    user = current_user(request)
    if user.person_id:
        services.bindings_sync_own(user=user)
    return [_binding(request, b) for b in selectors.my_bindings(user=user)]


@router.post("me/bindings", auth=AUTH, response={201: BindingOut, **ERRORS},
             summary="Ask to bind someone else's vehicle (the owner gets an SMS code)")
def binding_request(request, payload: BindingRequestIn):
    user = current_user(request)
    binding = services.binding_request(user=user, plate=payload.plate, plate_type=payload.plate_type,
                                       vin_last4=payload.vin_last4)
    return Status(201, _binding_out(request, user, binding.pk))


@router.post("me/bindings/{binding_id}/confirm", auth=AUTH, response={200: BindingOut, **ERRORS},
             summary="Confirm a binding with the owner's code (optional Idempotency-Key header)")
def binding_confirm(request, payload: BindingConfirmIn, binding_id: int = BindingId):
    user = current_user(request)
    binding = services.binding_confirm(user=user, binding_id=binding_id, code=payload.code,
                                       idempotency_key=request.headers.get("Idempotency-Key"))
    return _binding_out(request, user, binding.pk)


@router.delete("me/bindings/{binding_id}", auth=AUTH, response={200: BindingOut, **ERRORS},
               summary="Unbind a vehicle (or withdraw a pending request)")
def binding_end(request, binding_id: int = BindingId):
    user = current_user(request)
    binding = services.binding_end(user=user, binding_id=binding_id)
    return _binding_out(request, user, binding.pk)
