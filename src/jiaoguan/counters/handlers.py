"""Outbox handlers of the counters app."""
