"""Outbox handlers of the inspections app."""
