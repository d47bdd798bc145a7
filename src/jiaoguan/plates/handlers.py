"""Outbox handlers of the plates app."""
