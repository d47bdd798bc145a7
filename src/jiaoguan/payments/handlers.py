"""Outbox handlers of the payments app."""
