"""An outbox handler for the worker tests, imported by path in the worker as an app's handlers module is: an
inbox message and an SMS, as the notices of violations and payments write them."""
from __future__ import annotations

from django.contrib.auth import get_user_model

from jiaoguan.core.outbox import subscribe
from jiaoguan.notifications.services import message_send


@subscribe("test.workers.notice")
def notice(payload: dict) -> None:
    user = get_user_model().objects.get(pk=payload["user_id"])
    message_send(template="otp.login", params={"code": payload["code"], "minutes": 5}, user=user,
                 phone=payload["phone"], channels=("inbox", "sms"))
