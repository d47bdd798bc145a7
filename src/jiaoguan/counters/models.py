"""Counter appointments (窗口预约) at offices (车管所, 服务站), including enterprises' batch bookings (批量预约).

The seats themselves live in the capacity engine (``bookings``): each service an office offers points at one
``bookings.Resource`` (kind "counter", first come) whose slots have one "public" quota of ``windows`` seats. This app
owns only what the engine does not know: offices, the catalogue of counter services (data, not code), which
office offers which service with how many windows and in which hours, and the record of enterprise batches.
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from jiaoguan.core.i18n import bi


class Office(models.Model):
    """A place with counters: a 车管所, a 服务站, a 交警大队 window."""

    code = models.CharField(max_length=20, unique=True, help_text="short stable code, e.g. 'SZ-FT' (letters, digits, -)")
    name_zh = models.CharField(max_length=80)
    name_en = models.CharField(max_length=120)
    address_zh = models.CharField(max_length=200)
    address_en = models.CharField(max_length=200, blank=True)
    opens = models.TimeField(default=dt.time(9, 0), help_text="first appointment of a working day")
    closes = models.TimeField(default=dt.time(17, 0), help_text="no appointment ends after this")
    break_starts = models.TimeField(null=True, blank=True, help_text="lunch break (no appointments), optional")
    break_ends = models.TimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class CounterService(models.Model):
    """A kind of counter business (驾驶证业务, 机动车业务, 违法处理, …): a catalogue row a city edits."""

    class Subject(models.TextChoices):
        PERSON = "person", bi("本人办理", "In person")
        VEHICLE = "vehicle", bi("车辆业务", "For a vehicle")

    code = models.SlugField(max_length=30, unique=True)
    name_zh = models.CharField(max_length=60)
    name_en = models.CharField(max_length=120)
    description_zh = models.CharField(max_length=300, blank=True)
    description_en = models.CharField(max_length=300, blank=True)
    subject = models.CharField(max_length=8, choices=Subject.choices, default=Subject.PERSON,
                               help_text="vehicle: enterprises may book it for their vehicles in a batch")
    sort = models.PositiveSmallIntegerField(default=100)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sort", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class OfficeService(models.Model):
    """One service at one office: the bookable resource, and how many windows serve it (seats per slot)."""

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="services")
    service = models.ForeignKey(CounterService, on_delete=models.PROTECT, related_name="offices")
    resource = models.OneToOneField("bookings.Resource", on_delete=models.PROTECT, related_name="counter")
    windows = models.PositiveSmallIntegerField(default=2, help_text="counters serving it: the seats of each slot")
    slot_minutes = models.PositiveSmallIntegerField(default=30)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["office", "service__sort", "service__code"]
        constraints = [models.UniqueConstraint(fields=["office", "service"], name="counters_one_resource_per_service")]

    def __str__(self) -> str:
        return f"{self.office.code}/{self.service.code}"


class EnterpriseBatch(models.Model):
    """One accepted 批量预约 of an enterprise (all its items booked together; a refused batch leaves no row)."""

    enterprise = models.ForeignKey("identity.Enterprise", on_delete=models.PROTECT, related_name="counter_batches")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="counter_batches")
    reference = models.CharField(max_length=20, unique=True)
    items = models.PositiveSmallIntegerField()
    booking_ids = models.JSONField(default=list)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.reference
