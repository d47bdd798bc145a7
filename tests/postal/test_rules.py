"""The shipment life cycle table: carrier events only ever move forwards, final states stay final."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.postal import rules


def test_the_table():
    assert rules.MACHINE.allows("created", "accepted") and rules.MACHINE.allows("created", "failed")
    assert rules.MACHINE.allows("failed", "created")  # staff retry
    assert not rules.MACHINE.allows("delivered", "returned") and not rules.MACHINE.allows("returned", "delivered")
    assert not rules.MACHINE.allows("in_transit", "accepted")
    assert not rules.carrier_event_moves("out_for_delivery", "in_transit")
    assert rules.carrier_event_moves("created", "delivered")  # steps may be skipped
    assert not rules.carrier_event_moves("failed", "created")  # not a carrier status


@given(st.lists(st.sampled_from(rules.CARRIER_STATUSES), max_size=12))
def test_no_sequence_of_carrier_events_moves_backwards(events):
    status = rules.CREATED
    for event in events:
        before = status
        if rules.carrier_event_moves(status, event):
            status = event
        assert rules.RANK[status] >= rules.RANK[before]
        if before in rules.FINAL:
            assert status == before
    reached = [e for e in events]
    if reached:
        assert rules.RANK[status] == max(rules.RANK[e] for e in reached)
