"""The capacity engine: bookable resources, slots with quotas, first-come holds and ranked allocation,
cancellation, no-shows, penalties and waiting lists.

A domain app (exams, inspections, counters, eastern) owns its own records (venues, stations, areas) and points
at a ``Resource`` here; it books through ``bookings.services`` and reads through ``bookings.selectors``.

Who is who on a booking:
- ``user``: the account that booked (and may confirm, cancel, see it);
- ``subject``: what the seat is for, as the domain app names it ("permit:12:2", "vehicle:34", "plate:粤B12345");
- ``exclusive_key``: at most one live booking/application per key (the domain's "one per plate per day",
  "one per permit and subject"); enforced by partial unique indexes, so even a race cannot break it;
- ``party``: who answers for cancellations and no-shows (penalties are counted and applied per party).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jiaoguan.core import clock
from jiaoguan.core.i18n import bi


class Resource(models.Model):
    """Something bookable by slot: an exam venue's subject, an inspection station, a counter, a scenic area."""

    class Kind(models.TextChoices):
        EXAM = "exam", bi("驾驶人考试", "Driving test")
        INSPECTION = "inspection", bi("机动车检验", "Vehicle inspection")
        COUNTER = "counter", bi("窗口业务", "Counter service")
        EASTERN = "eastern", bi("东部景区通行", "Eastern scenic area")

    class Policy(models.TextChoices):
        FIRST_COME = "first_come", bi("先到先得", "First come")
        RANKED = "ranked", bi("按排序分配", "Ranked allocation")

    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    code = models.CharField(max_length=60, unique=True)
    name_zh = models.CharField(max_length=120)
    name_en = models.CharField(max_length=120)
    policy = models.CharField(max_length=12, choices=Policy.choices, default=Policy.FIRST_COME)
    hold_minutes = models.PositiveSmallIntegerField(
        default=10, help_text="first come: how long a seat is held while the citizen confirms")
    waitlist_offer_minutes = models.PositiveSmallIntegerField(
        default=30, help_text="how long a freed seat offered to the waiting list stays reserved")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class Slot(models.Model):
    """A bookable time on a resource, with its booking window and cancellation deadline."""

    class Status(models.TextChoices):
        OPEN = "open", bi("开放预约", "Open")
        CLOSED = "closed", bi("已截止待分配", "Closed, awaiting allocation")
        ALLOCATED = "allocated", bi("已分配并公布", "Allocated and published")
        CANCELLED = "cancelled", bi("已取消", "Cancelled")

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="slots")
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    opens_at = models.DateTimeField(help_text="booking window opens")
    closes_at = models.DateTimeField(help_text="booking window closes (ranked: allocation runs after this)")
    cancel_until = models.DateTimeField(help_text="a citizen may cancel a confirmed booking until this time")
    period_key = models.CharField(max_length=40, blank=True, db_index=True,
                                  help_text="the period penalties are counted in, e.g. a holiday '2026-national-day'")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    allocated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["resource", "starts_at"]), models.Index(fields=["status", "closes_at"])]

    def __str__(self) -> str:
        return f"{self.resource.code} {clock.localtime(self.starts_at):%Y-%m-%d %H:%M}"


class Quota(models.Model):
    """A share of a slot's seats (e.g. 'public' and 'merchant'); the contended row that bookings lock."""

    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="quotas")
    name = models.CharField(max_length=20, default="public")
    label_zh = models.CharField(max_length=40, default="公众")
    label_en = models.CharField(max_length=40, default="Public")
    capacity = models.PositiveIntegerField()

    class Meta:
        ordering = ["slot", "id"]
        constraints = [models.UniqueConstraint(fields=["slot", "name"], name="bookings_quota_unique_name")]

    def __str__(self) -> str:
        return f"{self.slot_id}/{self.name} ({self.capacity})"


LIVE_BOOKING = ("held", "confirmed", "attended")


class Booking(models.Model):
    """A seat. First come: held → confirmed (or released / expired). Ranked: created confirmed by allocation.
    Confirmed → cancelled (by the citizen before the deadline, or by staff), attended or no-show."""

    class Status(models.TextChoices):
        HELD = "held", bi("待确认", "Held")
        CONFIRMED = "confirmed", bi("预约成功", "Confirmed")
        RELEASED = "released", bi("已放弃", "Released")
        EXPIRED = "expired", bi("确认超时", "Hold expired")
        CANCELLED = "cancelled", bi("已取消", "Cancelled")
        ATTENDED = "attended", bi("已到场", "Attended")
        NO_SHOW = "no_show", bi("未到场", "No-show")

    class CancelledBy(models.TextChoices):
        CITIZEN = "citizen", bi("本人取消", "By the citizen")
        STAFF = "staff", bi("工作人员取消", "By staff")
        SYSTEM = "system", bi("系统取消", "By the system")

    reference = models.CharField(max_length=20, unique=True)
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    # no single-column indexes of their own on quota, user and status: the (quota, status), (user, status) and
    # (status, hold_expires_at) indexes below serve every read by them (and the foreign keys' checks), and each
    # index costs every booking insert and every status change an entry (docs/performance.md §8.5)
    quota = models.ForeignKey(Quota, on_delete=models.PROTECT, related_name="bookings", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings",
                             db_index=False)
    subject = models.CharField(max_length=80)
    subject_label = models.CharField(max_length=120, blank=True)
    exclusive_key = models.CharField(max_length=160)
    party = models.CharField(max_length=80)
    status = models.CharField(max_length=10, choices=Status.choices)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=8, choices=CancelledBy.choices, blank=True)
    application = models.OneToOneField("Application", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="booking")
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True, help_text="released, expired, cancelled or marked")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["exclusive_key"], condition=Q(status__in=LIVE_BOOKING),
                                    name="bookings_booking_one_live_per_key"),
        ]
        indexes = [
            models.Index(fields=["quota", "status"]),
            models.Index(fields=["user", "status"]),
            models.Index(fields=["party", "status"]),
            models.Index(fields=["status", "hold_expires_at"]),
            models.Index(fields=["subject"]),
        ]

    def __str__(self) -> str:
        return self.reference


class Application(models.Model):
    """A request for a seat in a ranked slot: pending until the window closes, then allocated or not."""

    class Status(models.TextChoices):
        PENDING = "pending", bi("排队中", "Pending")
        ALLOCATED = "allocated", bi("已分配", "Allocated")
        UNSUCCESSFUL = "unsuccessful", bi("未分配", "Unsuccessful")
        WITHDRAWN = "withdrawn", bi("已撤回", "Withdrawn")

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="applications")
    # no index of its own: pending applications are read by quota through the partial index below (a quota is
    # never deleted, so nothing looks up decided ones by quota)
    quota = models.ForeignKey(Quota, on_delete=models.PROTECT, related_name="applications", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="booking_applications")
    subject = models.CharField(max_length=80)
    subject_label = models.CharField(max_length=120, blank=True)
    exclusive_key = models.CharField(max_length=160)
    party = models.CharField(max_length=80)
    sort_time = models.DateTimeField(help_text="earlier ranks higher; ties by submission order")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    rank = models.PositiveIntegerField(null=True, blank=True, help_text="set by the allocation")
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # only a pending application is "live" here: an allocated one lives on as its booking (whose own
            # index keeps the key unique), so after that booking ends the subject may apply again
            models.UniqueConstraint(fields=["exclusive_key"], condition=Q(status="pending"),
                                    name="bookings_application_one_pending_per_key"),
        ]
        # Few indexes on purpose: the allocation decides every pending application of a round at once (a million
        # rows), and each index a row is in costs an entry per decided row. The two partial indexes hold only
        # pending rows, so deciding one adds nothing to them: the rest are the primary key, slot and user.
        indexes = [
            # the live rank and the allocation: a quota's pending applications in rank order (rules.RANK_ORDER)
            models.Index(fields=["quota", "sort_time", "id"], condition=Q(status="pending"),
                         name="bookings_app_pending_rank"),
        ]


class WaitlistEntry(models.Model):
    """A citizen waiting for a full slot; a freed seat is held for them for a limited time (an offer)."""

    class Status(models.TextChoices):
        WAITING = "waiting", bi("候补中", "Waiting")
        OFFERED = "offered", bi("已通知待确认", "Seat offered")
        ACCEPTED = "accepted", bi("候补成功", "Accepted")
        LAPSED = "lapsed", bi("未确认已失效", "Offer lapsed")
        WITHDRAWN = "withdrawn", bi("已退出候补", "Withdrawn")

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="waitlist")
    quota = models.ForeignKey(Quota, on_delete=models.PROTECT, related_name="waitlist")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="waitlist_entries")
    subject = models.CharField(max_length=80)
    subject_label = models.CharField(max_length=120, blank=True)
    exclusive_key = models.CharField(max_length=160)
    party = models.CharField(max_length=80)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    booking = models.OneToOneField(Booking, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="waitlist_entry")
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    offered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["slot", "exclusive_key"], condition=Q(status__in=("waiting", "offered")),
                                    name="bookings_waitlist_one_live_per_key"),
        ]
        indexes = [models.Index(fields=["quota", "status", "created_at"])]


class PenaltyRule(models.Model):
    """Configurable consequence: ``threshold`` events of one kind by a party within a window lose eligibility.

    Defaults (DOMAIN §6, eastern areas): 3 citizen cancellations within one period (a holiday) → no booking for
    the rest of that period; 3 no-shows within a calendar year → blacklisted until the year ends."""

    class Event(models.TextChoices):
        CANCEL = "cancel", bi("取消预约", "Cancellation")
        NO_SHOW = "no_show", bi("未到场", "No-show")

    class Window(models.TextChoices):
        PERIOD = "period", bi("同一时段（如同一假期）", "Same period (e.g. holiday)")
        YEAR = "year", bi("同一自然年", "Same calendar year")
        DAYS = "days", bi("最近若干天", "Last N days")

    class Ban(models.TextChoices):
        PERIOD = "period", bi("该时段内不得预约", "For the rest of the period")
        YEAR = "year", bi("当年内不得预约", "Until the year ends")
        DAYS = "days", bi("若干天内不得预约", "For N days")

    kind = models.CharField(max_length=16, choices=Resource.Kind.choices)
    event = models.CharField(max_length=8, choices=Event.choices)
    threshold = models.PositiveSmallIntegerField()
    window = models.CharField(max_length=8, choices=Window.choices)
    window_days = models.PositiveSmallIntegerField(default=0)
    ban = models.CharField(max_length=8, choices=Ban.choices)
    ban_days = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "event", "threshold"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.threshold}×{self.event} → {self.ban}"


class Penalty(models.Model):
    """A party may not book a kind of resource from ``starts_at`` until ``ends_at`` (or within ``period_key``)."""

    party = models.CharField(max_length=80, db_index=True)
    kind = models.CharField(max_length=16, choices=Resource.Kind.choices)
    rule = models.ForeignKey(PenaltyRule, on_delete=models.PROTECT, null=True, blank=True, related_name="penalties")
    period_key = models.CharField(max_length=40, blank=True, help_text="banned only for slots of this period")
    reason_zh = models.CharField(max_length=200)
    reason_en = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True, help_text="empty with a period_key: the whole period")
    lifted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["party", "kind"])]


class AllocationRun(models.Model):
    """One run of the ranked allocation job over slots whose window has closed."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    actor_label = models.CharField(max_length=150)
    slots = models.PositiveIntegerField(default=0)
    applications = models.PositiveIntegerField(default=0)
    allocated = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
