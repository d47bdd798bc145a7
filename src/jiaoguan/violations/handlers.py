"""Outbox handlers of the violations app."""
