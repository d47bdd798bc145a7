"""Every write of the identity app: SMS codes, real-name registration, login and lockout, password reset,
API tokens, staff accounts, vehicle bindings (DOMAIN §1). One module per part: ``_common`` (helpers shared by
the others), ``otp``, ``tokens``, ``bindings``, ``accounts`` (registration), ``login`` (login, lockout, reset),
``phone`` (changing the account's phone), ``contact`` (the address on file, by its holder), ``phone_on_file``
(the phone on file, by its holder, with a cooling-off period), ``staff``; callers use the names re-exported here.

Conventions (ARCHITECTURE §2–4): keyword-only functions named ``<noun>_<verb>``; every write inside
``transaction.atomic()``; refusals are ``core.errors`` domain errors with a stable code and Chinese and English
messages; "now" comes from ``core.clock``; changes that matter append an audit row.

Two things shape the code of this package:

* A wrong SMS code or password must be *counted* even though the request then fails. So the counting happens
  in its own short transaction that commits before the error is raised (``_otp_check``, ``_login_failed``),
  and callers never wrap these in an outer transaction that would roll the count back.
* Nobody may learn from our answers whether a phone number has an account: login and reset codes to unknown
  numbers are "sent" (same answer, same rate limits) without sending anything, and a wrong phone and a wrong
  password give the same error.
"""

from __future__ import annotations

from jiaoguan.identity.hashes import phone_hash
from jiaoguan.identity.services.accounts import citizen_register
from jiaoguan.identity.services.bindings import (
    binding_confirm,
    binding_end,
    binding_request,
    bindings_reconcile_vehicle,
    bindings_sync_own,
)
from jiaoguan.identity.services.contact import contact_address_change
from jiaoguan.identity.services.login import (
    login_with_password,
    login_with_sms,
    password_reset,
)
from jiaoguan.identity.services.otp import sms_code_request
from jiaoguan.identity.services.phone import account_phone_change
from jiaoguan.identity.services.phone_on_file import (
    phone_on_file_change_cancel,
    phone_on_file_change_object,
    phone_on_file_change_request,
    phone_on_file_changes_apply,
)
from jiaoguan.identity.services.staff import (
    staff_bootstrap,
    staff_create,
    staff_set_active,
)
from jiaoguan.identity.services.tokens import token_issue, token_revoke, token_revoke_by_id, user_for_token

__all__ = [
    "account_phone_change",
    "binding_confirm",
    "binding_end",
    "binding_request",
    "bindings_reconcile_vehicle",
    "bindings_sync_own",
    "citizen_register",
    "contact_address_change",
    "login_with_password",
    "login_with_sms",
    "password_reset",
    "phone_hash",
    "phone_on_file_change_cancel",
    "phone_on_file_change_object",
    "phone_on_file_change_request",
    "phone_on_file_changes_apply",
    "sms_code_request",
    "staff_bootstrap",
    "staff_create",
    "staff_set_active",
    "token_issue",
    "token_revoke",
    "token_revoke_by_id",
    "user_for_token",
]
