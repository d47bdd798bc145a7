"""Postal delivery: one adapter interface, a local simulator, tracking numbers and status callbacks."""
from django.db import models  # noqa: F401
