"""Vehicle inspection: stations and first-come slots, eligibility from the registry, exempt-year marks."""
from django.db import models  # noqa: F401
