"""Outbox handlers of the eastern app."""
