"""Eastern scenic areas (东部预约): areas, booking days, slots, merchant quotas, exemptions, checkpoints."""
from django.db import models  # noqa: F401
