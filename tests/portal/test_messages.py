"""My messages: inbox with unread marks; marking read; nobody reads or marks another's messages."""
import pytest

from jiaoguan.notifications.models import Message
from jiaoguan.notifications.services import message_send
from tests.portal.support import EN, citizen, text

pytestmark = pytest.mark.django_db


def _inbox_message(user, plate="粤B·12345"):
    (message,) = message_send(template="inspection.due", params={"plate": plate, "date": "2030-01-31"}, user=user,
                              channels=("inbox",))
    return message


def test_inbox_shows_unread_and_marks_read(client):
    user, *_ = citizen()
    message = _inbox_message(user)
    client.force_login(user)
    r = client.get("/me/messages/")
    page = text(r)
    assert "我的消息" in page and "机动车检验提醒" in page and "粤B·12345" in page
    assert "未读" in page and f'id="m{message.pk}" class="card message unread"' in r.content.decode()
    # the welcome message from registration is there too, and the nav shows the count
    unread = Message.objects.filter(recipient=user, channel="inbox", read_at__isnull=True).count()
    assert '<span class="count"' in r.content.decode() and unread >= 2
    r = client.post(f"/me/messages/{message.pk}/read/")
    assert r.status_code == 302 and r["Location"] == f"/me/messages/#m{message.pk}"
    message.refresh_from_db()
    assert message.read_at is not None
    r = client.get("/me/messages/")
    assert f'id="m{message.pk}" class="card message"' in r.content.decode()


def test_inbox_in_english(client):
    user, *_ = citizen()
    user.preferred_language = "en"
    user.save(update_fields=["preferred_language"])
    _inbox_message(user)
    client.force_login(user)
    page = text(client.get("/me/messages/", **EN))
    assert "My messages" in page and "Mark as read" in page and "Vehicle inspection due" in page


def test_marking_read_needs_post(client):
    user, *_ = citizen()
    message = _inbox_message(user)
    client.force_login(user)
    assert client.get(f"/me/messages/{message.pk}/read/").status_code == 405


def test_nobody_reads_or_marks_anothers_messages(client):
    alice, *_ = citizen(name="甲一")
    bob, *_ = citizen(name="乙二")
    bobs = _inbox_message(bob, plate="粤B·99999")
    client.force_login(alice)
    assert "粤B·99999" not in text(client.get("/me/messages/"))
    r = client.post(f"/me/messages/{bobs.pk}/read/")
    assert r.status_code == 404 and "消息不存在" in text(r)
    assert client.post("/me/messages/99999999/read/").status_code == 404
    bobs.refresh_from_db()
    assert bobs.read_at is None
