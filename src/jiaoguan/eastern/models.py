"""Eastern scenic areas (东部预约, DOMAIN §6): areas, booking days, exemptions, checkpoints and what the
cameras saw.

Seats live in the capacity engine (``bookings``): each area points at a ``bookings.Resource`` of kind "eastern";
a booking day's slots are that resource's ``Slot`` rows starting on the day, each with a "public" and a
"merchant" ``Quota``. A citizen's or merchant's booking is a ``bookings.Booking``; ``AreaBooking`` is this app's
record of it (which area, day and plate, and the entry window that a reported delay extends).
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from jiaoguan.core.i18n import bi


class Area(models.Model):
    """A scenic area that needs booking on peak days (e.g. 大鹏半岛 Dapeng Peninsula)."""

    code = models.SlugField(max_length=40, unique=True)
    name_zh = models.CharField(max_length=80)
    name_en = models.CharField(max_length=80)
    resource = models.OneToOneField("bookings.Resource", on_delete=models.PROTECT, related_name="eastern_area")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]
        verbose_name = "东部景区 eastern area"
        verbose_name_plural = "东部景区 eastern areas"

    def __str__(self) -> str:
        return f"{self.name_zh} {self.name_en}"


class BookingDay(models.Model):
    """A date on which entering an area needs a booking (peak weekends and holidays), with its daily quota
    and the share reserved for hotels and merchants. ``period_key`` names the holiday for the cancellation
    penalty (3 cancellations lose the rest of that holiday)."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="days")
    date = models.DateField(db_index=True)
    period_key = models.CharField(max_length=40)
    daily_quota = models.PositiveIntegerField()
    merchant_quota = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    created_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["date", "area_id"]
        constraints = [models.UniqueConstraint(fields=["area", "date"], name="eastern_day_unique")]

    def __str__(self) -> str:
        return f"{self.area.code} {self.date}"

    @property
    def public_quota(self) -> int:
        return self.daily_quota - self.merchant_quota


class Exemption(models.Model):
    """A registered local vehicle (residents, businesses inside the area) that needs no booking until
    ``valid_until`` (inclusive)."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="exemptions")
    plate = models.CharField("号牌号码", max_length=10, db_index=True)
    reason = models.CharField(max_length=200)
    valid_until = models.DateField()
    created_at = models.DateTimeField()
    created_by_id = models.BigIntegerField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["area_id", "plate"]
        constraints = [models.UniqueConstraint(fields=["area", "plate"], condition=Q(revoked_at__isnull=True),
                                               name="eastern_exemption_one_live")]


class AreaBooking(models.Model):
    """This app's side of a ``bookings.Booking``: the area, day and plate, and the entry window."""

    booking = models.OneToOneField("bookings.Booking", on_delete=models.PROTECT, related_name="eastern")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="bookings")
    day = models.ForeignKey(BookingDay, on_delete=models.PROTECT, related_name="bookings")
    plate = models.CharField(max_length=10)
    plate_type = models.CharField(max_length=2)
    vehicle_id = models.BigIntegerField(null=True, blank=True, help_text="the register's vehicle, if local")
    enterprise_id = models.BigIntegerField(null=True, blank=True, help_text="booked by a merchant for a guest")
    starts_at = models.DateTimeField(help_text="the slot's start: entry allowed from here")
    slot_ends_at = models.DateTimeField()
    entry_ends_at = models.DateTimeField(help_text="the slot's end, or later after a reported delay")
    delay_reported_at = models.DateTimeField(null=True, blank=True)
    entered_at = models.DateTimeField(null=True, blank=True, help_text="first entry seen by a checkpoint")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["plate", "day"]), models.Index(fields=["entry_ends_at"])]


class Checkpoint(models.Model):
    """A roadside camera at an area's entrance: a violations ``Device`` (signed requests) mapped to the area."""

    device = models.OneToOneField("violations.Device", on_delete=models.PROTECT, related_name="eastern_checkpoint")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="checkpoints")
    name = models.CharField(max_length=80)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["area_id", "name"]


class Passage(models.Model):
    """One car seen by a checkpoint and the answer given (once per device record id: a repeat gets the same
    answer)."""

    class Reason(models.TextChoices):
        NO_BOOKING_NEEDED = "no_booking_needed", bi("今日无需预约", "No booking needed today")
        EXEMPT = "exempt", bi("免预约车辆", "Exempt vehicle")
        BOOKED = "booked", bi("已预约", "Booked")
        NOT_BOOKED = "not_booked", bi("未预约", "No booking")
        OUTSIDE_WINDOW = "outside_window", bi("不在预约时段", "Outside the booked window")

    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="passages")
    record_id = models.CharField(max_length=64)
    plate = models.CharField(max_length=10)
    plate_type = models.CharField(max_length=2)
    at = models.DateTimeField(db_index=True)
    allowed = models.BooleanField(default=False)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    detail = models.CharField(max_length=40, blank=True, help_text="e.g. the exemption's code")
    area_booking = models.ForeignKey(AreaBooking, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="passages")
    violation = models.ForeignKey("violations.Violation", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="eastern_passages")
    violation_error = models.CharField(max_length=60, blank=True)
    answer = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [models.UniqueConstraint(fields=["checkpoint", "record_id"], name="eastern_passage_once")]
