"""message_send: one message per channel in the caller's transaction, SMS after commit, inbox at once; the
console backend and the testing helpers other apps' tests use."""
from __future__ import annotations

import pytest
from django.db import connection, transaction

from jiaoguan.core.errors import InvalidInput
from jiaoguan.notifications.models import Message, MessageTemplate
from jiaoguan.notifications.services import MissingParams, NoRecipient, NotificationError, UnknownTemplate, message_send
from jiaoguan.notifications.sms import ConsoleBackend
from tests.notifications.helpers import clear_outbox, deliver_due, last_code, last_sms, sms_outbox

PHONE = "13912345678"
OTP = {"code": "493817", "minutes": 5}


@pytest.mark.django_db
def test_sms_goes_out_after_commit_through_the_console_backend(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as hooks:
        [message] = message_send(template="otp.login", params=OTP, phone=PHONE)
        assert ConsoleBackend.sent() == []  # nothing leaves before the caller's transaction commits
    assert len(hooks) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED
    assert (message.attempts, message.provider) == (1, "console")
    assert message.provider_message_id.startswith("console-")
    assert message.sent_at is not None and message.delivered_at is not None and message.next_attempt_at is None
    [sms] = sms_outbox(deliver=False)
    assert sms.phone == PHONE
    assert sms.text.startswith("【交管】验证码：493817，")
    assert last_code(PHONE) == "493817"


@pytest.mark.django_db
def test_inside_a_test_transaction_the_outbox_helpers_deliver_what_is_due():
    # no on-commit hook runs inside the test's transaction: the message waits, as it would for a worker
    [message] = message_send(template="otp.register", params=OTP, phone=PHONE)
    assert message.status == Message.Status.CREATED and ConsoleBackend.sent() == []
    assert last_code(PHONE) == "493817"
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED
    assert deliver_due() == 0  # and only once


@pytest.mark.django_db
def test_one_time_codes_and_phones_are_never_stored_in_clear():
    user = None
    message_send(template="otp.bind", params={**OTP, "plate": "粤B12345", "requester": "李*华"}, phone=PHONE,
                 user=user)
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, phone_hash, body, params, subject FROM notifications_message")
        [(phone, phone_hash, body, params, subject)] = cursor.fetchall()
    raw = " ".join(str(v) for v in (phone, phone_hash, body, params, subject))
    assert "493817" not in raw and PHONE not in raw
    assert phone.startswith("enc1:") and body.startswith("enc1:")
    message = Message.objects.get()
    assert "code" not in message.params and message.params["plate"] == "粤B12345" and message.params["minutes"] == 5
    assert "493817" in message.body  # decrypted, it is the text that was sent
    # the phone hash is the one identity uses, so a user's messages can be found by their number
    from jiaoguan.core.crypto import lookup_hash
    assert phone_hash == lookup_hash(PHONE, purpose="phone")


@pytest.mark.django_db
def test_language_comes_from_the_argument_then_the_user_then_chinese(make_user):
    english = make_user(language="en")
    chinese = make_user()
    [a] = message_send(template="account.locked", params={"minutes": 30}, user=english)
    [b] = message_send(template="account.locked", params={"minutes": 30}, user=chinese)
    [c] = message_send(template="account.locked", params={"minutes": 30}, user=chinese, language="en")
    [d] = message_send(template="account.locked", params={"minutes": 30}, phone=PHONE)
    assert (a.language, b.language, c.language, d.language) == ("en", "zh-hans", "en", "zh-hans")
    assert a.body == "[Jiaoguan] Your Jiaoguan account is locked for 30 minutes after repeated failed logins. " \
                     "If this was not you, reset your password with \"Forgot password\" once it is unlocked."
    assert b.body.startswith("【交管】您的交管账户因多次登录失败已被锁定30分钟。")
    assert a.phone == english.phone  # the user's phone when none is given
    assert a.recipient == english and d.recipient is None


@pytest.mark.django_db
def test_sms_and_inbox_together(make_user, django_capture_on_commit_callbacks):
    user = make_user()
    with django_capture_on_commit_callbacks(execute=True):
        sms, inbox = message_send(template="inspection.due", params={"plate": "粤B12345", "date": "2026-06-30"},
                                  user=user, channels=("sms", "inbox"))
    assert inbox.channel == "inbox" and inbox.status == Message.Status.DELIVERED and inbox.provider == "inbox"
    assert inbox.phone is None and inbox.read_at is None
    assert inbox.body == "您的机动车粤B12345应于2026-06-30前完成检验，请及时预约检验。"  # no SMS signature
    assert inbox.subject == "机动车检验提醒"
    sms.refresh_from_db()
    assert sms.status == Message.Status.DELIVERED and sms.body == "【交管】" + inbox.body
    assert [s.text for s in sms_outbox()] == [sms.body]


@pytest.mark.django_db
def test_inbox_only_sends_no_sms(make_user):
    user = make_user()
    [message] = message_send(template="account.welcome", params={}, user=user, channels=("inbox",))
    assert message.status == Message.Status.DELIVERED
    assert sms_outbox() == [] and last_sms(user.phone) is None


@pytest.mark.django_db
@pytest.mark.parametrize("kwargs, error, text", [
    ({"template": "otp.nope", "params": {}, "phone": PHONE}, UnknownTemplate, "no message template"),
    ({"template": "otp.login", "params": {"code": "1"}, "phone": PHONE}, MissingParams, "missing minutes"),
    ({"template": "otp.login", "params": OTP}, NoRecipient, "needs a phone number"),
    ({"template": "account.welcome", "params": {}, "phone": PHONE, "channels": ("inbox",)}, NoRecipient,
     "needs a saved user"),
    ({"template": "account.welcome", "params": {}, "phone": PHONE, "channels": ()}, NotificationError, "channels"),
    ({"template": "account.welcome", "params": {}, "phone": PHONE, "channels": ("email",)}, NotificationError,
     "channels"),
    ({"template": "account.welcome", "params": {}, "phone": PHONE, "channels": ("sms", "sms")}, NotificationError,
     "channels"),
])
def test_programming_errors_are_clear_and_write_nothing(kwargs, error, text):
    with pytest.raises(error, match=text):
        message_send(**kwargs)
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_a_malformed_phone_is_refused_with_a_field_message():
    with pytest.raises(InvalidInput) as info:
        message_send(template="otp.login", params=OTP, phone="12345")
    assert info.value.fields.keys() == {"phone"}
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_phone_spellings_are_normalised():
    [message] = message_send(template="otp.login", params=OTP, phone="+86 139-1234-5678")
    assert message.phone == PHONE
    assert last_code("139 1234 5678") == "493817" == last_code(PHONE)


@pytest.mark.django_db
def test_an_inactive_template_sends_nothing():
    MessageTemplate.objects.filter(code="account.welcome").update(active=False)
    assert message_send(template="account.welcome", params={}, phone=PHONE) == []
    assert Message.objects.count() == 0 and sms_outbox() == []


@pytest.mark.django_db
def test_a_rolled_back_transaction_sends_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                message_send(template="otp.login", params=OTP, phone=PHONE)
                raise RuntimeError("the caller's later step failed")
    assert Message.objects.count() == 0
    assert sms_outbox() == [] and last_code(PHONE) is None


@pytest.mark.django_db
def test_last_code_reads_the_latest_sms_to_that_phone_only():
    assert last_code(PHONE) is None
    message_send(template="otp.login", params={"code": "111111", "minutes": 5}, phone=PHONE)
    message_send(template="otp.login", params={"code": "222222", "minutes": 5}, phone="13800000000")
    message_send(template="otp.login", params={"code": "333333", "minutes": 5}, phone=PHONE)
    assert last_code(PHONE) == "333333" and last_code("13800000000") == "222222"
    message_send(template="password.changed", params={}, phone=PHONE)
    assert last_code(PHONE) is None  # the latest SMS to that phone has no code
    assert "密码已修改" in last_sms(PHONE)
    assert [s.phone for s in sms_outbox()] == [PHONE, "13800000000", PHONE, PHONE]
    clear_outbox()
    assert sms_outbox() == [] and last_sms(PHONE) is None


def test_testing_helpers_work_without_database_access():
    # a unit test without the django_db mark can still look at the (empty) outbox
    assert sms_outbox() == [] and last_code(PHONE) is None


def test_console_backend_appends_to_the_outbox_file_and_keeps_a_bounded_list(outbox_file, monkeypatch):
    monkeypatch.setattr(ConsoleBackend, "KEEP", 3)
    backend = ConsoleBackend(outbox_file=outbox_file)
    results = [backend.send(PHONE, f"【交管】第{i}条\n第二行") for i in range(5)]
    assert len({r.provider_message_id for r in results}) == 5 and {r.provider for r in results} == {"console"}
    lines = outbox_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    at, phone, text = lines[-1].split("\t")
    assert (phone, text) == (PHONE, "【交管】第4条 第二行")
    assert [s.text for s in ConsoleBackend.sent()] == [f"【交管】第{i}条\n第二行" for i in (2, 3, 4)]


def test_console_backend_survives_an_unwritable_outbox_file(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    ConsoleBackend(outbox_file=blocker / "sms.log").send(PHONE, "【交管】hi")
    assert [s.text for s in ConsoleBackend.sent()] == ["【交管】hi"]
