"""An inbox message is read in the reader's language (issue 9 §6): the text is stored in both languages when it
is sent, and the migration gives messages stored before that their other language."""
from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps

from jiaoguan.notifications.models import Message
from jiaoguan.notifications.selectors import inbox_entries
from jiaoguan.notifications.services import message_send

pytestmark = pytest.mark.django_db

PARAMS = {"plate": "粤B12345", "date": dt.date(2026, 6, 30)}


@pytest.mark.parametrize("sent_in", ["zh-hans", "en"])
def test_an_inbox_message_reads_in_either_language(make_user, sent_in):
    user = make_user(language=sent_in)
    (message,) = message_send(template="inspection.due", params=PARAMS, user=user, channels=("inbox",))
    message = Message.objects.get(pk=message.pk)
    assert message.language == sent_in
    assert message.text_in("zh-hans") == ("机动车检验提醒", "您的机动车粤B12345应于2026年6月30日前完成检验，请及时预约检验。")
    assert message.text_in("en") == ("Vehicle inspection due",
                                     "Your vehicle 粤B12345 must be inspected by 30 June 2026. Please book an "
                                     "inspection in time.")
    (entry,) = inbox_entries(user=user, language="en-us")
    assert (entry.subject, entry.pk, entry.is_read) == ("Vehicle inspection due", message.pk, False)


def test_an_sms_keeps_only_the_text_it_was_sent_with(make_user):
    user = make_user()
    (text,) = message_send(template="inspection.due", params=PARAMS, user=user, channels=("sms",))
    text = Message.objects.get(pk=text.pk)
    assert text.alt_body is None and text.alt_subject == ""
    assert text.text_in("en") == (text.subject, text.body) and text.body.startswith("【交管】")


def test_the_migration_gives_older_inbox_messages_their_other_language(make_user):
    fill = importlib.import_module(
        "jiaoguan.notifications.migrations.0009_inbox_other_language_and_notice_templates").fill_other_language
    user = make_user()
    (dated,) = message_send(template="inspection.due", params=PARAMS, user=user, channels=("inbox",))
    (plain,) = message_send(template="account.welcome", params={}, user=user, channels=("inbox",))
    (gone,) = message_send(template="account.welcome", params={}, user=user, channels=("inbox",))
    # as they were stored before: one language only; one of them from a template that no longer exists
    Message.objects.filter(pk__in=[dated.pk, plain.pk, gone.pk]).update(alt_subject="", alt_body=None)
    Message.objects.filter(pk=gone.pk).update(template_code="retired.template")
    fill(apps, None)
    assert Message.objects.get(pk=dated.pk).text_in("en")[1] == (
        "Your vehicle 粤B12345 must be inspected by 30 June 2026. Please book an inspection in time.")
    assert Message.objects.get(pk=plain.pk).text_in("en")[0] == "Welcome to Jiaoguan"
    kept = Message.objects.get(pk=gone.pk)
    assert kept.alt_body is None and kept.text_in("en")[0] == "欢迎使用交管服务"  # shown as it was sent
