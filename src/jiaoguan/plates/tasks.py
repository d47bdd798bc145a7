"""Periodic work of the plates app (declared with core.scheduler.periodic)."""
