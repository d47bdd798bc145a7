"""Outbox handlers of the payments app: the notices to payers live in notices.py."""
from jiaoguan.payments import notices  # noqa: F401 - subscribes the notice handlers
