"""Plate number pools per issuing office, random draws, composed numbers, holds and confirmation (DOMAIN §5).

- ``Office``: an issuing office (粤B = Shenzhen) with its selection settings as data: batch size (≥ 5 by law,
  default 10), redraws, hold minutes, compose patterns, the eligibility window for new vehicles.
- ``PlateNumber``: one number of the pool. Status life cycle (only ``plates.services`` changes it):

      available ──hold (conditional UPDATE)──▶ held ──confirm──▶ assigned
          ▲   ▲                                  │
          │   └──release / hold expired (sweep)──┘
          └──policy deactivated── withheld ◀──policy added / generated under a policy──

  ``rand`` is a random key fixed at creation: a draw reads ``rand >= r ORDER BY rand`` from one random point on
  an index instead of sorting the whole pool (``ORDER BY random()``), so a draw costs the same at 100,000 or
  10,000,000 numbers.
- ``WithholdPolicy``: numbers kept out of the public pool (reserved series like 粤B·J****, numbers with 4,
  police/official series), as data staff edit.
- ``Selection``: one owner's selection for one newly registered vehicle: draws used, the offered batch, status.
- ``PlateHistory``: plates a person held before, for keeping a previous plate.
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from jiaoguan.core.i18n import bi
from jiaoguan.plates import rules


class Office(models.Model):
    code = models.CharField("发牌机关代码", max_length=12, unique=True)
    name = models.CharField("发牌机关", max_length=60)
    prefix = models.CharField("号牌前缀", max_length=2, unique=True,
                              help_text="province character + office letter, e.g. 粤B")
    batch_size = models.PositiveSmallIntegerField("每次摇号个数", default=10, help_text="at least 5 (公安部令第164号)")
    redraws = models.PositiveSmallIntegerField("可重新摇号次数", default=2, help_text="draws after the first one")
    hold_minutes = models.PositiveSmallIntegerField("锁定分钟数", default=15)
    eligible_days = models.PositiveSmallIntegerField(
        "注册后可选号天数", default=30, help_text="a vehicle registered within this many days may choose its number")
    compose_patterns = models.JSONField(
        "自编号码格式", default=dict, blank=True,
        help_text='kind -> shapes over L (letter) and N (digit), e.g. {"02": ["LNNNN", "NLNNN"]}; empty = defaults')
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["prefix"]
        constraints = [models.CheckConstraint(condition=models.Q(batch_size__gte=5), name="plates_office_batch_min5")]
        verbose_name = "发牌机关 issuing office"
        verbose_name_plural = "发牌机关 issuing offices"

    def patterns(self) -> dict[str, list[str]]:
        return {**rules.DEFAULT_COMPOSE_PATTERNS, **(self.compose_patterns or {})}

    def __str__(self) -> str:
        return f"{self.prefix} {self.name}"


class Kind(models.TextChoices):
    ORDINARY = rules.ORDINARY, bi("普通小型汽车", "Ordinary small car")
    NEV_SMALL = rules.NEV_SMALL, bi("小型新能源汽车", "Small new-energy")
    NEV_LARGE = rules.NEV_LARGE, bi("大型新能源汽车", "Large new-energy")


class WithholdPolicy(models.Model):
    class Rule(models.TextChoices):
        PREFIX = rules.POLICY_PREFIX, bi("号段前缀", "Prefix")
        CONTAINS = rules.POLICY_CONTAINS, bi("包含字符", "Contains")
        REGEX = rules.POLICY_REGEX, bi("正则表达式", "Regular expression")

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="policies")
    name = models.CharField("名称", max_length=60)
    rule = models.CharField("规则", max_length=10, choices=Rule.choices)
    value = models.CharField("值", max_length=80)
    kind = models.CharField("号牌种类", max_length=2, choices=Kind.choices, blank=True, help_text="empty = all kinds")
    active = models.BooleanField(default=True, db_index=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["office", "-active", "pk"]
        verbose_name = "号码保留策略 withholding policy"
        verbose_name_plural = "号码保留策略 withholding policies"

    def applies(self, kind: str, serial: str) -> bool:
        return (not self.kind or self.kind == kind) and rules.policy_matches(self.rule, self.value, serial)

    def __str__(self) -> str:
        return f"{self.name} ({self.rule}: {self.value})"


class Selection(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", bi("选号中", "Choosing")
        CONFIRMED = "confirmed", bi("已确认", "Confirmed")
        CANCELLED = "cancelled", bi("已放弃", "Cancelled")

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="selections")
    vehicle = models.ForeignKey("registry.Vehicle", on_delete=models.PROTECT, related_name="plate_selections")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="plate_selections")
    person_id = models.BigIntegerField(db_index=True)
    kind = models.CharField(max_length=2, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    draws_allowed = models.PositiveSmallIntegerField(help_text="1 + the office's redraws when it started")
    draws_used = models.PositiveSmallIntegerField(default=0)
    batch_size = models.PositiveSmallIntegerField()
    offered = models.JSONField(default=list, blank=True, help_text="the numbers of the current batch")
    previous_plate = models.CharField(max_length=10, help_text="the vehicle's number when the selection started")
    plate = models.CharField(max_length=10, blank=True, help_text="the confirmed number")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # one live selection per vehicle, and none after one was confirmed
            models.UniqueConstraint(fields=["vehicle"], condition=~models.Q(status="cancelled"),
                                    name="plates_selection_one_per_vehicle"),
        ]
        verbose_name = "选号 plate selection"
        verbose_name_plural = "选号 plate selections"

    @property
    def draws_left(self) -> int:
        return max(0, self.draws_allowed - self.draws_used)


class PlateNumber(models.Model):
    class Status(models.TextChoices):
        AVAILABLE = "available", bi("可选", "Available")
        HELD = "held", bi("锁定中", "Held")
        ASSIGNED = "assigned", bi("已使用", "Assigned")
        WITHHELD = "withheld", bi("保留", "Withheld")

    class Source(models.TextChoices):
        GENERATED = "generated", bi("号段生成", "Generated")
        COMPOSED = "composed", bi("自编", "Composed")
        KEPT = "kept", bi("保留原号", "Kept")
        REGISTRY = "registry", bi("已登记车辆", "Registered vehicle")

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="numbers")
    number = models.CharField("号牌号码", max_length=10, unique=True)
    kind = models.CharField(max_length=2, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.AVAILABLE)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.GENERATED)
    rand = models.FloatField(help_text="random draw key, fixed at creation")
    held_by = models.ForeignKey(Selection, on_delete=models.SET_NULL, null=True, blank=True, related_name="holds")
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    withheld_by = models.ForeignKey(WithholdPolicy, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="numbers")
    assigned_vehicle_id = models.BigIntegerField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["office", "kind", "status", "rand"], name="plates_draw_idx"),
            models.Index(fields=["status", "hold_expires_at"], name="plates_hold_expiry_idx"),
        ]
        verbose_name = "号牌号码 plate number"
        verbose_name_plural = "号牌号码 plate numbers"

    @property
    def is_nev(self) -> bool:
        return self.kind in (rules.NEV_SMALL, rules.NEV_LARGE)

    def hold_expired(self, now: dt.datetime) -> bool:
        """Is this held number's hold over at ``now``? (Only for a held number: a hold is always written with its
        expiry, and every way out of "held" clears both.)"""
        assert self.hold_expires_at is not None, f"{self.number} is not held"
        return self.hold_expires_at <= now

    def __str__(self) -> str:
        return self.number


class PlateHistory(models.Model):
    """A plate a person held and gave up (the vehicle was sold, scrapped or moved away, or staff recorded it from
    the old system): what keeping a previous plate is checked against."""

    class Source(models.TextChoices):
        SALE = "sale", bi("转移登记", "Sold")
        STATUS = "status", bi("注销/转出", "Scrapped or moved")
        STAFF = "staff", bi("人工录入", "Recorded by staff")

    person_id = models.BigIntegerField(db_index=True)
    plate = models.CharField(max_length=10, db_index=True)
    plate_type = models.CharField(max_length=2)
    vehicle_id = models.BigIntegerField(null=True, blank=True)
    held_from = models.DateField()
    given_up_on = models.DateField()
    source = models.CharField(max_length=8, choices=Source.choices)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-given_up_on", "-pk"]
        constraints = [models.UniqueConstraint(fields=["person_id", "plate", "given_up_on"],
                                               name="plates_history_once")]
        verbose_name = "曾用号牌 plate history"
        verbose_name_plural = "曾用号牌 plate history"
