"""Periodic work of the credentials app (declared with core.scheduler.periodic)."""
