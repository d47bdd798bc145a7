"""Periodic work of the eastern app (declared with core.scheduler.periodic)."""
