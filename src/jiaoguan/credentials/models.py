"""Signed e-permits and certificates: QR presentation, public verification, revocation.

A ``Credential`` (电子证照) is issued by another app's service — the applications engine when an approved
application's output is an e-permit — and never changes afterwards except for its revocation. Its content (number,
holder, titles, fields, validity, source, issue time) is signed with a key id (signing.py); verification re-computes
the canonical content from the row, so an edited row fails the signature check.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

from jiaoguan.core.i18n import bi


class Credential(models.Model):
    class Status(models.TextChoices):
        ISSUED = "issued", bi("已核发", "Issued")
        REVOKED = "revoked", bi("已注销", "Revoked")

    number = models.CharField(max_length=20, unique=True, help_text="电子证照编号: year, 10 digits, Damm check digit")
    token = models.CharField(max_length=40, help_text="secret part of the public verification address (QR code)")
    kind = models.CharField(max_length=40, help_text="e.g. truck_pass, nonlocal_pass, parking_licence")
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credentials")
    holder_display = models.CharField(max_length=120, help_text="masked name, or the enterprise's name")
    title_zh = models.CharField(max_length=120)
    title_en = models.CharField(max_length=120)
    fields = models.JSONField(default=list, help_text='[{"zh", "en", "value", "public"}] — values masked')
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True, help_text="inclusive; empty = no end date")
    source_type = models.CharField(max_length=60, help_text='what it was issued for, e.g. "applications.application"')
    source_id = models.CharField(max_length=64)
    issued_at = models.DateTimeField()
    issued_by = models.CharField(max_length=150)
    algorithm = models.CharField(max_length=16)
    key_id = models.CharField(max_length=32)
    signature = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ISSUED)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)
    revoke_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            # one credential of a kind per source, even when two issuers race (the service is idempotent on it)
            models.UniqueConstraint(fields=["source_type", "source_id", "kind"], name="credentials_one_per_source"),
        ]
        indexes = [models.Index(fields=["holder", "-issued_at"], name="credentials_holder_idx")]

    def __str__(self) -> str:
        return f"{self.number} {self.title_zh}"
