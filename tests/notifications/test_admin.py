"""The admin: failed messages are visible and filterable; codes and phones are not shown; template edits are
validated and audited."""
from __future__ import annotations

import pytest
from django.urls import reverse

from jiaoguan.core.models import AuditEntry
from jiaoguan.notifications.models import Message, MessageTemplate
from jiaoguan.notifications.services import message_deliver, message_send
from jiaoguan.notifications.sms import SmsSendError

PHONE = "13912345678"


@pytest.fixture
def admin_client_(client, db):
    from jiaoguan.identity.models import User

    admin = User.objects.create_superuser("admin-notif", "correct horse battery")
    client.force_login(admin)
    return client


class Refusing:
    def send(self, phone, text, *, reference=None):
        raise SmsSendError("HTTP 400 invalid_number", retryable=False)


@pytest.fixture
def one_failed_one_delivered(db, monkeypatch):
    [failed] = message_send(template="otp.login", params={"code": "493817", "minutes": 5}, phone=PHONE)
    message_deliver(message_id=failed.pk, backend=Refusing())
    [ok] = message_send(template="password.changed", params={}, phone="13800000000")
    message_deliver(message_id=ok.pk)
    return Message.objects.get(pk=failed.pk), Message.objects.get(pk=ok.pk)


def test_failed_messages_are_listed_and_filterable(admin_client_, one_failed_one_delivered):
    failed, ok = one_failed_one_delivered
    url = reverse("admin:notifications_message_changelist")
    response = admin_client_.get(url, {"status__exact": "failed"})
    page = response.content.decode()
    assert list(response.context["cl"].result_list) == [failed]
    assert "invalid_number" in page and "139****5678" in page and PHONE not in page

    def listed(**query) -> list[Message]:
        r = admin_client_.get(url, query)
        assert r.status_code == 200
        return list(r.context["cl"].result_list)

    assert listed(status__exact="delivered") == [ok]
    assert listed(template_code="otp.login") == [failed]
    assert listed(channel__exact="sms") == [ok, failed]
    assert listed(channel__exact="inbox") == []


def test_the_message_page_hides_codes_and_phones(admin_client_, one_failed_one_delivered):
    failed, ok = one_failed_one_delivered
    page = admin_client_.get(reverse("admin:notifications_message_change", args=[failed.pk])).content.decode()
    assert "493817" not in page and PHONE not in page and "139****5678" in page
    assert "not shown" in page
    page = admin_client_.get(reverse("admin:notifications_message_change", args=[ok.pk])).content.decode()
    assert "密码已修改" in page  # no secret in it: the text is shown


def test_messages_cannot_be_changed_or_added_in_the_admin(admin_client_, one_failed_one_delivered):
    failed, _ = one_failed_one_delivered
    assert admin_client_.get(reverse("admin:notifications_message_add")).status_code == 403
    r = admin_client_.post(reverse("admin:notifications_message_change", args=[failed.pk]), {"status": "delivered"})
    assert r.status_code == 403
    assert Message.objects.get(pk=failed.pk).status == "failed"


def test_editing_a_template_in_the_admin_is_validated_and_audited(admin_client_):
    row = MessageTemplate.objects.get(code="binding.ended")
    url = reverse("admin:notifications_messagetemplate_change", args=[row.pk])
    assert admin_client_.get(url).status_code == 200
    form = {"description": row.description, "subject_zh": row.subject_zh, "subject_en": row.subject_en,
            "body_zh": "车辆{plate}已解绑。", "body_en": row.body_en, "active": "on"}
    bad = admin_client_.post(url, {**form, "body_zh": "车辆{vin}已解绑。"})
    assert bad.status_code == 200 and "unknown placeholder" in bad.content.decode()
    assert AuditEntry.objects.filter(action="message_template.update").count() == 0
    good = admin_client_.post(url, form)
    assert good.status_code == 302
    assert MessageTemplate.objects.get(pk=row.pk).body_zh == "车辆{plate}已解绑。"
    entry = AuditEntry.objects.get(action="message_template.update")
    assert entry.new == {"body_zh": "车辆{plate}已解绑。"} and entry.actor_label.endswith("admin-notif")
    [m] = message_send(template="binding.ended", params={"plate": "粤B12345"}, phone=PHONE)
    assert m.body == "【交管】车辆粤B12345已解绑。"
