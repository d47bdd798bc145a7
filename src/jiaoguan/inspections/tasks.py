"""Periodic work of the inspections app (declared with core.scheduler.periodic)."""
