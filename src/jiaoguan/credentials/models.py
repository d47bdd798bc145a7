"""Signed e-permits and certificates: QR presentation, public verification, revocation."""
from django.db import models  # noqa: F401
