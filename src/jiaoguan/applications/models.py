"""The service catalogue (services declared as data, see catalogue.py) and the one acceptance → review → approval
workflow: applications, their append-only history and their materials.

Statuses change only in services.py (one function per transition, each audited); nothing else assigns
``Application.status``.
"""
from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.db import models

from jiaoguan.applications.catalogue import service_get
from jiaoguan.core import clock
from jiaoguan.core.fields import EncryptedField
from jiaoguan.core.i18n import bi

# With staff or the applicant and not yet decided (awaiting_payment: submitted, its fee not paid yet).
OPEN_STATES = ("awaiting_payment", "submitted", "returned", "under_review", "reviewed")
# Waiting for staff (the time limit runs).
STAFF_STATES = ("submitted", "under_review", "reviewed")
DONE_STATES = ("approved", "rejected", "refused")


class Application(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", bi("草稿", "Draft")
        AWAITING_PAYMENT = "awaiting_payment", bi("待缴费", "Waiting for the fee")
        SUBMITTED = "submitted", bi("待受理", "Waiting for acceptance")
        RETURNED = "returned", bi("退回补正", "Sent back for correction")
        UNDER_REVIEW = "under_review", bi("已受理·审核中", "Accepted, under review")
        REVIEWED = "reviewed", bi("已审核·待审批", "Reviewed, waiting for approval")
        APPROVED = "approved", bi("已批准", "Approved")
        REJECTED = "rejected", bi("不予批准", "Not approved")
        REFUSED = "refused", bi("不予受理", "Refused at acceptance")
        WITHDRAWN = "withdrawn", bi("已撤回", "Withdrawn")
        REVOKED = "revoked", bi("已撤销", "Revoked")
        LAPSED = "lapsed", bi("逾期未缴费·已关闭", "Closed: the fee was not paid in time")

    service_code = models.CharField("事项编码", max_length=40)
    service_version = models.CharField(max_length=40, blank=True, default="")
    service_digest = models.CharField(max_length=64, blank=True, default="",
                                      help_text="sha256 of the service's declaration when submitted")
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="service_applications")
    enterprise = models.ForeignKey("identity.Enterprise", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="service_applications")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    reference = models.CharField("申请编号", max_length=16, unique=True, null=True, blank=True,
                                 help_text="YYYYMMDD + 6-digit daily sequence + Luhn check digit; given at submission")
    form_data = models.JSONField(default=dict, blank=True, help_text="form values except personal ones")
    form_personal = EncryptedField(blank=True, default="", help_text="ID numbers and phones (JSON), encrypted")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, help_text="end of the time limit (working days)")
    paused_workdays = models.IntegerField(null=True, blank=True,
                                          help_text="working days left, kept while sent back to the applicant")
    returned_from = models.CharField(max_length=20, blank=True, default="")
    due_soon_warned_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True, help_text="escalated by the overdue sweep")
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    claimed_at = models.DateTimeField(null=True, blank=True)
    post_review_pending = models.BooleanField(default=False, help_text="approved first, review still to come")
    auto_decided = models.BooleanField(default=False)
    decision_comment = models.CharField(max_length=500, blank=True, default="")
    outcome = models.JSONField(default=dict, blank=True, help_text="what each output produced")
    fee_lines = models.JSONField(default=list, blank=True,
                                 help_text="the fees charged at submission (rules.fee_lines), exempt ones with why")
    fee_due_at = models.DateTimeField(null=True, blank=True, help_text="unpaid by then, the application lapses")

    class Meta:
        indexes = [
            models.Index(fields=["status", "due_at"], name="app_status_due"),
            models.Index(fields=["status", "submitted_at"], name="app_status_submitted"),
            models.Index(fields=["service_code", "status"], name="app_service_status"),
            models.Index(fields=["service_code", "submitted_at"], name="app_service_submitted"),
            models.Index(fields=["applicant", "created_at"], name="app_applicant_created"),
            models.Index(fields=["claimed_by", "status"], name="app_claimed_status"),
            models.Index(fields=["due_at"], name="app_due_open", condition=models.Q(
                status__in=["submitted", "under_review", "reviewed"], overdue_at__isnull=True)),
            # the staff queues' order (applications.selectors.queue): walked in order and filtered, a first page
            # or a keyset page reads about a page of rows whatever the table's size
            models.Index(fields=["due_at", "submitted_at", "id"], name="app_queue_due", condition=models.Q(
                status__in=["submitted", "under_review", "reviewed"])),
            models.Index(fields=["submitted_at", "id"], name="app_queue_accept", condition=models.Q(
                status="submitted")),
            models.Index(fields=["due_at", "submitted_at", "id"], name="app_queue_post_review",
                         condition=models.Q(post_review_pending=True)),
            models.Index(fields=["claimed_by", "due_at", "submitted_at", "id"], name="app_queue_claimed",
                         condition=models.Q(claimed_by__isnull=False)),
            # the sweep that closes applications whose fee was not paid in time
            models.Index(fields=["fee_due_at"], name="app_fee_due", condition=models.Q(status="awaiting_payment")),
        ]
        verbose_name = "办事申请 application"
        verbose_name_plural = "办事申请 applications"

    def __str__(self) -> str:
        return f"{self.reference or f'#{self.pk}'} {self.service_code}"

    # --- plain accessors (no rules here) ---

    def form(self) -> dict:
        """Every form value (personal ones decrypted): for services and outputs, never shown unmasked."""
        data = dict(self.form_data or {})
        if self.form_personal:
            data.update(json.loads(self.form_personal))
        return data

    def service(self):
        return service_get(code=self.service_code)


class ApplicationEvent(models.Model):
    """The application's history: who did what, when, in which role, with what comment. Append-only (the model
    refuses updates and deletes; the audit log keeps the tamper-evident copy)."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=24)
    from_status = models.CharField(max_length=20, blank=True, default="")
    to_status = models.CharField(max_length=20, blank=True, default="")
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150)
    actor_role = models.CharField(max_length=20, blank=True, default="")
    comment = models.CharField(max_length=500, blank=True, default="")
    public = models.BooleanField(default=True, help_text="shown on the applicant's timeline")
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["application", "at"], name="app_event_at")]
        ordering = ["at", "id"]

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("application events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("application events are append-only")


def _upload_to(instance: Material, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"applications/{clock.localtime():%Y/%m}/{uuid.uuid4().hex}.{ext}"


class Material(models.Model):
    """A document of an application: a file the applicant uploaded (checked by its bytes) or a reference to a
    record the platform already holds (免提交)."""

    class Kind(models.TextChoices):
        UPLOAD = "upload", bi("上传", "Uploaded")
        HELD = "held", bi("平台已有", "Held by the platform")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="materials")
    slot = models.CharField(max_length=40, help_text="the declared material code (or file field) it answers")
    kind = models.CharField(max_length=6, choices=Kind.choices)
    file = models.FileField(upload_to=_upload_to, blank=True)
    original_name = models.CharField(max_length=120, blank=True, default="")
    content_type = models.CharField(max_length=40, blank=True, default="")
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    provider = models.CharField(max_length=60, blank=True, default="")
    held_reference = models.CharField(max_length=120, blank=True, default="")
    summary_zh = models.CharField(max_length=200, blank=True, default="")
    summary_en = models.CharField(max_length=200, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["application", "slot"], name="app_material_slot")]
        ordering = ["id"]

    @property
    def held(self) -> bool:
        """A record the platform holds (免提交), not an uploaded file."""
        return self.kind == self.Kind.HELD


class ReferenceCounter(models.Model):
    """The last sequence number given out on a day (locked to draw the next)."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)
