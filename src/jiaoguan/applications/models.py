"""The service catalogue (services declared as data) and the one acceptance → review → approval workflow."""
from django.db import models  # noqa: F401
