"""The "my records" read model: each citizen's records, rendered once, read with one indexed lookup."""
from __future__ import annotations

from django.db import models

from jiaoguan.core.fields import EncryptedField
from jiaoguan.identity.models import User


class RecordPart(models.Model):
    """One part of an account's records ("me", "licences", "vehicles", "violations") in one language: the exact
    JSON body the API answers with. It is personal data made of encrypted records, so it is encrypted at rest as
    a whole (decrypted once per read, never per field); ``etag`` lets a client's repeat read end in a 304
    without decrypting anything. ``stale_at``: the moment a value in it that depends on the date changes (a
    licence's validity, an inspection's days left) — the next read after it rebuilds the part; null when
    nothing in it depends on the date. A change of the records themselves rebuilds it through the outbox
    (records.handlers)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    part = models.CharField(max_length=16)
    language = models.CharField(max_length=8)
    body = EncryptedField()
    etag = models.CharField(max_length=32)
    built_at = models.DateTimeField()
    stale_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "part", "language"], name="records_part_unique")]
