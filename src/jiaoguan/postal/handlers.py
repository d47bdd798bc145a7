"""Outbox handlers of the postal app."""
