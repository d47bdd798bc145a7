"""Reads the portal needs that no app selector offers yet.

``my_orders`` belongs in ``payments.selectors`` (as ``orders_for_person``); it lives here until the payments app
takes it, so the portal never writes a query inline in a view.
"""
from __future__ import annotations

from jiaoguan.payments.models import Order


def my_orders(*, person_id: int, limit: int = 50) -> list[Order]:
    """The person's orders, newest first (open, paying, paid and closed), with their payment if any."""
    return list(Order.objects.filter(payer_person_id=person_id).select_related("payment")
                .order_by("-created_at", "-pk")[:limit])
