"""Plate number pools per issuing office, random draws, composed numbers, holds and confirmation."""
from django.db import models  # noqa: F401
