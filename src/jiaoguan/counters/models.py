"""Counter appointments at offices (车管所 etc.), including enterprises' batch bookings."""
from django.db import models  # noqa: F401
