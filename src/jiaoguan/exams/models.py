"""Driving-test booking: learner's permits, venues, subjects and sessions, ranked by DOMAIN §6's sort time."""
from django.db import models  # noqa: F401
