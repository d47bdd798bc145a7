"""Driving-test booking: learner's permits, venues, subjects and sessions, ranked by DOMAIN §6's sort time.

The seats themselves live in the capacity engine (``bookings``): every venue + subject is one ranked
``bookings.Resource`` (``VenueSubject.resource``) and every exam session one ``bookings.Slot``
(``Session.slot``). Applications and bookings are the engine's rows, named for this app by
``subject = "permit:<permit id>:<subject>"``; this app keeps what the engine does not know: permits, progress
and results.
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from jiaoguan.core import clock
from jiaoguan.core.i18n import Bi, bi
from jiaoguan.exams import rules

SUBJECT_CHOICES = [(s, rules.SUBJECT_INFO[s].label) for s in rules.SUBJECTS]


class Permit(models.Model):
    """学习驾驶证明 (准考证明): a person may learn and sit the tests for one licence class, for 3 years."""

    class Status(models.TextChoices):
        ACTIVE = "active", bi("有效", "Active")
        COMPLETED = "completed", bi("考试全部合格", "All tests passed")
        REVOKED = "revoked", bi("已注销", "Revoked")

    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="exam_permits")
    licence_class = models.CharField("申请准驾车型", max_length=4)
    number = models.CharField("学习驾驶证明编号", max_length=24, unique=True)
    accepted_at = models.DateTimeField("受理时间", help_text="when the application to learn was accepted")
    valid_until = models.DateField("有效期至", help_text="last valid day (3 years from acceptance)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    issued_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-accepted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "licence_class"], condition=Q(status="active"),
                                    name="exams_permit_one_active_per_class"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.licence_class}"


class Venue(models.Model):
    """考场: a place that holds some of the subjects."""

    code = models.CharField(max_length=30, unique=True)
    name_zh = models.CharField(max_length=120)
    name_en = models.CharField(max_length=120)
    address = models.CharField(max_length=200, blank=True)
    subjects = models.JSONField(default=list, help_text='the subjects held here, e.g. ["1", "4"]')
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"

    @property
    def name_label(self) -> Bi:
        return bi(self.name_zh, self.name_en)


class VenueSubject(models.Model):
    """One subject at one venue: the ranked bookings resource its sessions are slots of."""

    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="venue_subjects")
    subject = models.CharField(max_length=1, choices=SUBJECT_CHOICES)
    resource = models.OneToOneField("bookings.Resource", on_delete=models.PROTECT, related_name="exam_venue_subject")

    class Meta:
        ordering = ["venue", "subject"]
        constraints = [models.UniqueConstraint(fields=["venue", "subject"], name="exams_venue_subject_unique")]


class Session(models.Model):
    """考试场次: a venue holds one subject at a date and time for a number of seats (one bookings slot)."""

    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="sessions")
    subject = models.CharField(max_length=1, choices=SUBJECT_CHOICES, db_index=True)
    slot = models.OneToOneField("bookings.Slot", on_delete=models.PROTECT, related_name="exam_session")
    starts_at = models.DateTimeField(db_index=True, help_text="copy of the slot's start, for listing")
    seats = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["subject", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.venue.code} {rules.SUBJECT_INFO[self.subject].short_zh} {clock.localtime(self.starts_at):%Y-%m-%d %H:%M}"


class Result(models.Model):
    """成绩: the outcome of one allocated seat. A no-show is recorded as one (it counts as a fail)."""

    class Outcome(models.TextChoices):
        PASS = "pass", bi("合格", "Pass")
        FAIL = "fail", bi("不合格", "Fail")
        NO_SHOW = "no_show", bi("缺考（按不合格）", "No-show (counts as a fail)")

    permit = models.ForeignKey(Permit, on_delete=models.PROTECT, related_name="results")
    subject = models.CharField(max_length=1, choices=SUBJECT_CHOICES)
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="results", null=True, blank=True)
    booking_id = models.BigIntegerField(unique=True, null=True, blank=True,
                                        help_text="the bookings.Booking this result is for (one result each)")
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    exam_at = models.DateTimeField(help_text="when the exam took place (the session's start)")
    recorded_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-exam_at", "-id"]
        indexes = [models.Index(fields=["permit", "subject", "outcome"])]
        constraints = [
            models.UniqueConstraint(fields=["permit", "subject"], condition=Q(outcome="pass"),
                                    name="exams_result_one_pass_per_subject"),
        ]

    @property
    def failed(self) -> bool:
        return self.outcome != self.Outcome.PASS
