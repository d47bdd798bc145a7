"""联系方式变更 online: the contact address on file (where licences, plates and marks are posted), changed by its
holder through their own real-name account instead of at a window.

Who may: a citizen account whose records are visible (the account's phone is the phone on file: the same proof
that shows the licence and vehicles), with the current password on top of the session — a borrowed session must
not be able to redirect the post. Wrong passwords count towards the login lockout. The registry writes and audits
the change; the holder is told in the inbox and by SMS to the phone on file, so a change they did not make is
seen at once.

The phone on file itself is changed online with a cooling-off period and a code to the old number to stop it
(``phone_on_file``): it decides who may register (DOMAIN §1).
"""
from __future__ import annotations

from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Forbidden
from jiaoguan.identity.models import User
from jiaoguan.identity.selectors import records_visible
from jiaoguan.identity.services._common import _phone_change_account, _send
from jiaoguan.identity.services.login import _login_limits, _password_reconfirm
from jiaoguan.registry import services as registry


def contact_address_change(*, user: User, address: str, password: str, ip: str) -> User:
    """Change the person's contact address on file. Refusals: no real-name person or records withheld (403
    ``identity.records_withheld``: the phone on file must be the account's first), a missing or wrong password
    (422 on ``password``, counted; 423 when locked), an address too short or too long (422 on ``address``)."""
    try:
        user = _phone_change_account(user)  # logged in, active, a citizen's own account
    except Forbidden as exc:
        if exc.code != "identity.citizen_only":
            raise
        raise Forbidden("identity.citizen_only", "只有市民账户可以自行变更联系地址",
                        "Only citizen accounts can change their own address") from None
    _login_limits(ip)
    row = User.objects.select_related("person").get(pk=user.pk)  # fresh: the phone on file may have just changed
    if not row.person_id or not records_visible(user=row):
        raise Forbidden("identity.records_withheld", "账户手机号与档案预留手机号一致后，方可在网上变更联系地址",
                        "The account's phone must be the phone on file before the address can be changed online")
    _password_reconfirm(row, password, ip=ip)
    person = row.person
    assert person is not None  # person_id checked above
    before = person.address
    registry.person_update_address(person=person, address=address, actor=Actor.of(row, ip), by_holder=True,
                                   reason="本人网上变更 changed online by the holder")
    if person.address != before:
        _send(template="account.address_changed", params={}, user=row, channels=("inbox",),
              language=row.preferred_language)
        if person.phone:
            _send(template="account.address_changed", params={}, phone=person.phone, channels=("sms",),
                  language=row.preferred_language)
    return row
