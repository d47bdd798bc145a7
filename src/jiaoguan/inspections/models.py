"""Vehicle inspection: stations and first-come slots, eligibility from the registry, exempt-year marks.

A ``Station`` (检测站) points at a capacity-engine ``bookings.Resource`` (kind "inspection", first come); its
slots, seats, holds and cancellations are the engine's. This app adds what is about the vehicle: which vehicle a
booking is for and the result of the test (``InspectionBooking``), and the electronic inspection marks issued
online for cars in their exempt years (``InspectionMark``).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

from jiaoguan.core.i18n import bi


class Station(models.Model):
    """An inspection station (机动车检测站) that takes bookings."""

    code = models.CharField(max_length=40, unique=True)
    name_zh = models.CharField(max_length=120)
    name_en = models.CharField(max_length=120)
    address = models.CharField(max_length=200)
    district = models.CharField(max_length=40, help_text="区, e.g. 南山区")
    lanes = models.PositiveSmallIntegerField(default=2, help_text="default seats per slot (test lanes)")
    active = models.BooleanField(default=True)
    resource = models.OneToOneField("bookings.Resource", on_delete=models.PROTECT, related_name="inspection_station")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["district", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class InspectionBooking(models.Model):
    """Which vehicle an engine booking is for, and what the test found."""

    class Result(models.TextChoices):
        PENDING = "pending", bi("待检验", "Awaiting the test")
        PASSED = "passed", bi("检验合格", "Passed")
        FAILED = "failed", bi("检验不合格", "Failed")

    booking = models.OneToOneField("bookings.Booking", on_delete=models.PROTECT, related_name="inspection")
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="bookings")
    vehicle = models.ForeignKey("registry.Vehicle", on_delete=models.PROTECT, related_name="inspection_bookings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="inspection_bookings")
    # one live engine booking per vehicle and round: the round moves on when a result is recorded (see services)
    round = models.PositiveIntegerField(default=0)
    result = models.CharField(max_length=8, choices=Result.choices, default=Result.PENDING)
    result_note = models.CharField(max_length=300, blank=True)
    result_at = models.DateTimeField(null=True, blank=True)
    result_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["vehicle", "result"])]

    def __str__(self) -> str:
        return f"{self.booking_id} vehicle {self.vehicle_id}"


class InspectionMark(models.Model):
    """An electronic inspection mark (电子检验标志) issued online for a vehicle in an exempt year."""

    number = models.CharField(max_length=20, unique=True)
    token = models.CharField(max_length=40, help_text="secret part of the public verification address")
    vehicle = models.ForeignKey("registry.Vehicle", on_delete=models.PROTECT, related_name="inspection_marks")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="inspection_marks")
    year = models.PositiveSmallIntegerField(help_text="the year printed on the mark (year of issue)")
    due_covered = models.DateField(help_text="the due date this mark satisfied")
    valid_until = models.DateField(help_text="检验有效期至 after the mark")
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            # one mark per vehicle and due point, even when two applications race
            models.UniqueConstraint(fields=["vehicle", "due_covered"], name="inspections_mark_one_per_due"),
        ]

    def __str__(self) -> str:
        return self.number
