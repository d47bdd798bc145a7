"""The in-app inbox: newest first, unread count, mark read; another user's message is never visible."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser

from jiaoguan.core.errors import NotFound
from jiaoguan.notifications.selectors import inbox_for, message_get_for, unread_count
from jiaoguan.notifications.services import message_mark_read, message_send

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def two_users(make_user, clock):
    clock.freeze(START)
    alice, bob = make_user(), make_user(language="en")
    message_send(template="account.welcome", params={}, user=alice, channels=("inbox",))
    clock.advance(dt.timedelta(minutes=1))
    message_send(template="inspection.due", params={"plate": "粤B12345", "date": dt.date(2026, 6, 30)},
                 user=alice, channels=("sms", "inbox"))
    clock.advance(dt.timedelta(minutes=1))
    message_send(template="account.welcome", params={}, user=bob, channels=("inbox",))
    return alice, bob


def test_inbox_is_newest_first_and_holds_only_inbox_messages(two_users):
    alice, bob = two_users
    assert [m.template_code for m in inbox_for(user=alice)] == ["inspection.due", "account.welcome"]
    assert [m.subject for m in inbox_for(user=bob)] == ["Welcome to Jiaoguan"]
    assert all(m.channel == "inbox" for m in inbox_for(user=alice))
    assert unread_count(user=alice) == 2 and unread_count(user=bob) == 1


def test_mark_read_once(two_users, clock):
    alice, _ = two_users
    newest = inbox_for(user=alice)[0]
    read = message_mark_read(user=alice, message_id=newest.pk)
    assert read.read_at == clock.now() and read.is_read
    assert unread_count(user=alice) == 1
    clock.advance(dt.timedelta(hours=1))
    again = message_mark_read(user=alice, message_id=str(newest.pk))
    assert again.read_at == START + dt.timedelta(minutes=2)  # the first reading counts
    assert message_get_for(user=alice, message_id=newest.pk).is_read


def test_another_users_message_is_not_found_and_not_touched(two_users):
    alice, bob = two_users
    alices = inbox_for(user=alice)[0]
    for call in (lambda: message_get_for(user=bob, message_id=alices.pk),
                 lambda: message_mark_read(user=bob, message_id=alices.pk)):
        with pytest.raises(NotFound) as info:
            call()
        assert info.value.code == "core.not_found"
        assert info.value.as_dict("en") == {"code": "core.not_found", "message": "The message does not exist"}
    assert unread_count(user=alice) == 2
    assert message_get_for(user=alice, message_id=alices.pk).read_at is None


@pytest.mark.parametrize("bad_id", [10**9, "abc", None, "1; DROP TABLE"])
def test_unknown_or_malformed_ids_are_not_found(two_users, bad_id):
    alice, _ = two_users
    with pytest.raises(NotFound):
        message_get_for(user=alice, message_id=bad_id)
    with pytest.raises(NotFound):
        message_mark_read(user=alice, message_id=bad_id)


def test_an_sms_is_not_an_inbox_message(two_users):
    alice, _ = two_users
    from jiaoguan.notifications.models import Message

    sms = Message.objects.get(recipient=alice, channel="sms")
    with pytest.raises(NotFound):
        message_get_for(user=alice, message_id=sms.pk)
    with pytest.raises(NotFound):
        message_mark_read(user=alice, message_id=sms.pk)


def test_anonymous_sees_nothing(two_users):
    alice, _ = two_users
    anonymous = AnonymousUser()
    assert list(inbox_for(user=anonymous)) == [] and unread_count(user=anonymous) == 0
    with pytest.raises(NotFound):
        message_get_for(user=anonymous, message_id=inbox_for(user=alice)[0].pk)
    with pytest.raises(NotFound):
        message_mark_read(user=None, message_id=inbox_for(user=alice)[0].pk)
