"""联系方式变更 online: the holder changes the contact address on file with the current password, only while the
records are visible; the registry audits it, the inbox and the phone on file are told; nobody else can."""
from __future__ import annotations

import pytest

from jiaoguan.core.errors import Forbidden, InvalidInput, Locked
from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import services
from jiaoguan.identity.models import User
from tests.identity.helpers import PASSWORD, fresh_ip, holder, register, sms_texts

pytestmark = pytest.mark.django_db
NEW = "广东省深圳市南山区粤海街道科技园科苑路15号 2栋301"


def test_the_holder_changes_the_address_and_is_told():
    person = holder(name="钱地址")
    user = register(person)
    services.contact_address_change(user=user, address=f"  {NEW}  ", password=PASSWORD, ip=fresh_ip())
    person.refresh_from_db()
    assert person.address == NEW
    entry = AuditEntry.objects.get(action="person.update_address", subject_person_id=person.pk)
    assert entry.actor_id == user.pk and NEW not in str(entry.new)  # masked in the audit row
    assert user.messages.filter(template_code="account.address_changed", channel="inbox").exists()
    assert any("联系地址已在网上变更" in t for t in sms_texts(person.phone))


def test_a_wrong_password_is_counted_and_changes_nothing():
    person = holder(name="孙密码")
    user = register(person)
    before = person.address
    with pytest.raises(InvalidInput) as exc:
        services.contact_address_change(user=user, address=NEW, password="wrong-Password-1", ip=fresh_ip())
    assert exc.value.code == "identity.password_wrong"
    assert User.objects.get(pk=user.pk).failed_logins == 1  # counted towards the login lockout
    for _ in range(10):  # on until the account locks
        try:
            services.contact_address_change(user=user, address=NEW, password="wrong-Password-1", ip=fresh_ip())
        except Locked:
            break
        except InvalidInput:
            continue
    else:
        pytest.fail("wrong passwords never locked the account")
    with pytest.raises(Locked):  # locked now: even the right password waits
        services.contact_address_change(user=user, address=NEW, password=PASSWORD, ip=fresh_ip())
    person.refresh_from_db()
    assert person.address == before
    with pytest.raises(InvalidInput) as exc:
        services.contact_address_change(user=register(holder(name="李太短")), address="深圳", password=PASSWORD,
                                        ip=fresh_ip())
    assert exc.value.code == "registry.address_invalid"


def test_not_while_the_records_are_withheld():
    person = holder(name="周不符")
    user = register(person)
    person.phone = "13912340000"  # the phone on file changed at a window; the account has not followed
    person.save(update_fields=["phone", "phone_hash"])
    with pytest.raises(Forbidden) as exc:
        services.contact_address_change(user=user, address=NEW, password=PASSWORD, ip=fresh_ip())
    assert exc.value.code == "identity.records_withheld"


def test_the_portal_page(client):
    from tests.portal.support import text

    person = holder(name="吴页面")
    user = register(person)
    client.force_login(user)
    assert "变更联系地址" in text(client.get("/me/"))
    r = client.get("/me/address/")
    assert r.status_code == 200 and "当前登记的联系地址" in text(r)
    r = client.post("/me/address/", {"address": NEW, "password": "wrong-Password-1"})
    assert r.status_code == 422 and "当前登录密码不正确" in text(r)
    r = client.post("/me/address/", {"address": NEW, "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/me/"
    person.refresh_from_db()
    assert person.address == NEW
