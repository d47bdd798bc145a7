"""Violations (DOMAIN §4): the code table, recorded violations with evidence, devices that submit them,
penalty decisions (决定书), the points ledger and disputes.

Statuses change only through the services (one function per transition), each audited.
"""
from __future__ import annotations

from django.db import models

from jiaoguan.core import clock
from jiaoguan.core.fields import EncryptedField
from jiaoguan.core.i18n import bi
from jiaoguan.core.money import MoneyField


class ViolationCode(models.Model):
    """One row of the city's code table (违法代码): data loaded from fixtures/violation_codes.json, editable in the
    admin. ``fine_fen`` is the city's fine (0 = a warning only); the national range is fine_min_fen–fine_max_fen."""

    code = models.CharField("违法代码", max_length=5, unique=True)
    description_zh = models.CharField("违法行为", max_length=200)
    description_en = models.CharField("description", max_length=200)
    points = models.PositiveSmallIntegerField("记分")
    fine_min_fen = MoneyField("罚款下限（分）", default=0)
    fine_max_fen = MoneyField("罚款上限（分）", default=0)
    fine_fen = MoneyField("本市罚款金额（分）", default=0, help_text="0 = 警告 warning only")
    online_allowed = models.BooleanField("可网上处理", default=True)
    first_violation_list = models.BooleanField("首违警告清单", default=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "违法代码 violation code"
        verbose_name_plural = "违法代码 violation codes"

    def __str__(self) -> str:
        return f"{self.code} {self.description_zh}"


class Device(models.Model):
    """A camera or handheld device that submits violations over the signed API (HMAC-SHA256, key per device).

    Its key is scoped (``rules.DeviceScope``, enforced by ``signing.device_authenticate`` and
    ``services.violation_record``): the endpoints it may call, the violation codes it may record and the area
    (辖区) its violations' places must lie in. A request outside the scope is a 403 ``violations.device_scope``."""

    class Kind(models.TextChoices):
        TRAFFIC = "traffic", bi("电子警察（闯红灯、测速等）", "Traffic camera (red light, speed, ...)")
        PARKING = "parking", bi("违停抓拍", "Parking camera")
        CHECKPOINT = "checkpoint", bi("东部景区卡口", "Eastern area checkpoint")

    name = models.CharField(max_length=80)
    key_id = models.CharField(max_length=40, unique=True)
    secret = EncryptedField()
    place = models.CharField(max_length=120, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    kind = models.CharField("设备类型", max_length=12, choices=Kind.choices, default=Kind.TRAFFIC)
    endpoints = models.JSONField("可用接口", default=list, blank=True,
                                 help_text="violations.single, violations.batch, eastern.checkpoint")
    codes = models.JSONField("可上传的违法代码", default=list, blank=True,
                             help_text="the violation codes this device may record (empty: none)")
    area = models.CharField("辖区", max_length=80, blank=True, default="",
                            help_text="the place of every violation it records begins with this name, e.g. 福田区 "
                                      "(empty: the whole city)")

    class Meta:
        verbose_name = "采集设备 device"
        verbose_name_plural = "采集设备 devices"

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"


class DeviceNonce(models.Model):
    """Signatures (and nonces) a device has used, so a replayed request is refused. Rows older than the
    freshness window can be deleted: a request that old is refused as stale anyway."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="nonces")
    value = models.CharField(max_length=128)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "value"], name="device_nonce_unique")]


class Violation(models.Model):
    class Source(models.TextChoices):
        DEVICE = "device", bi("非现场（电子监控）", "Camera-recorded")
        ON_SITE = "on_site", bi("现场执法", "On-site")

    class Status(models.TextChoices):
        RECORDED = "recorded", bi("未处理", "Not handled")
        HANDLED = "handled", bi("已处理未缴款", "Handled, fine unpaid")
        PAID = "paid", bi("已缴款", "Paid")
        WAIVED = "waived", bi("首违免罚", "First-violation waiver")
        DISPUTED = "disputed", bi("申诉中", "Under dispute")
        REVOKED = "revoked", bi("已撤销", "Revoked")

    plate = models.CharField("号牌号码", max_length=10, db_index=True)
    plate_type = models.CharField("号牌种类", max_length=2)
    vehicle = models.ForeignKey("registry.Vehicle", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="violations")
    code = models.ForeignKey(ViolationCode, on_delete=models.PROTECT, related_name="violations")
    points = models.PositiveSmallIntegerField(help_text="the code's points when recorded")
    fine_fen = MoneyField(help_text="the city's fine when recorded (0 = warning)")
    place = models.CharField("违法地点", max_length=120)
    occurred_at = models.DateTimeField("违法时间", db_index=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    device = models.ForeignKey(Device, on_delete=models.PROTECT, null=True, blank=True, related_name="violations")
    device_record_id = models.CharField(max_length=64, blank=True, default="")
    accident = models.BooleanField("造成事故", default=False)
    congestion = models.BooleanField("造成拥堵", default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECORDED, db_index=True)
    status_before_dispute = models.CharField(max_length=10, blank=True, default="")
    waiver_rule = models.CharField(max_length=40, blank=True, default="", help_text="the rule that waived it")
    recorded_by_id = models.BigIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "device_record_id"], name="violation_device_record_unique",
                                    condition=~models.Q(device_record_id="")),
        ]
        indexes = [models.Index(fields=["vehicle", "occurred_at"])]
        verbose_name = "交通违法 violation"
        verbose_name_plural = "交通违法 violations"

    def __str__(self) -> str:
        return f"{self.plate} {self.code_id} {clock.localtime(self.occurred_at):%Y-%m-%d %H:%M}"


class Evidence(models.Model):
    violation = models.ForeignKey(Violation, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to="violations/%Y/%m/")
    content_type = models.CharField(max_length=20)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField()


class DecisionSequence(models.Model):
    """The last sequence number used per agency code (locked when a number is taken)."""

    agency_code = models.CharField(max_length=6, unique=True)
    last = models.PositiveBigIntegerField(default=0)


class PenaltyDecision(models.Model):
    """A penalty decision (处罚决定书): one per violation (the OneToOne is the guard against doubles)."""

    class Channel(models.TextChoices):
        ONLINE = "online", bi("网上处理", "Online")
        COUNTER = "counter", bi("窗口处理", "Counter")

    number = models.CharField("决定书编号", max_length=15, unique=True)
    violation = models.OneToOneField(Violation, on_delete=models.PROTECT, related_name="decision")
    licence = models.ForeignKey("registry.DrivingLicence", on_delete=models.PROTECT, related_name="decisions")
    person_id = models.BigIntegerField(db_index=True)
    points = models.PositiveSmallIntegerField()
    fine_fen = MoneyField()
    channel = models.CharField(max_length=8, choices=Channel.choices)
    decision_date = models.DateField()
    decided_at = models.DateTimeField()
    decided_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "处罚决定书 penalty decision"
        verbose_name_plural = "处罚决定书 penalty decisions"


class PointsAccount(models.Model):
    """The points of one licence in one scoring cycle (the row locked while points are added). The ledger is the
    one authority for a licence's points: ``total`` is ``carried_in`` plus the sum of the account's entries, and
    the licence card (registry ``DrivingLicence.cycle_points``) is a mirror of the current cycle's total."""

    licence = models.ForeignKey("registry.DrivingLicence", on_delete=models.PROTECT, related_name="points_accounts")
    cycle_start = models.DateField()
    cycle_end = models.DateField()
    total = models.IntegerField(default=0, help_text="carried_in plus the sum of the entries of this cycle")
    carried_in = models.IntegerField(default=0, help_text="points carried over from the previous cycle")
    full_score_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["licence", "cycle_start"], name="points_account_unique")]


class PointsEntry(models.Model):
    """One line of the points ledger: +points when a violation is handled, −points when it is revoked, and the
    opening balance: points the licence had in the cycle from outside the ledger (the registry's CSV import,
    the demo city, figures on file before the ledger existed), with no violation. Each violation is assigned
    once and reversed at most once (unique per violation and kind); a cycle's opening entries add up to the
    figure last reported for it (a changed report adds the difference)."""

    class Kind(models.TextChoices):
        ASSIGN = "assign", bi("记分", "Points assigned")
        REVERSE = "reverse", bi("撤销记分", "Points removed")
        OPENING = "opening", bi("期初记分", "Opening balance")

    account = models.ForeignKey(PointsAccount, on_delete=models.PROTECT, related_name="entries")
    violation = models.ForeignKey(Violation, on_delete=models.PROTECT, related_name="points_entries", null=True,
                                  blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    points = models.IntegerField()
    source = models.CharField(max_length=40, blank=True, default="",
                              help_text="where an opening balance came from (registry.import, registry.demo, "
                                        "migration)")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["violation", "kind"], name="points_entry_once"),
            models.CheckConstraint(
                condition=(models.Q(kind="opening", violation__isnull=True)
                           | (~models.Q(kind="opening") & models.Q(violation__isnull=False))),
                name="points_entry_opening_has_no_violation"),
        ]


class Dispute(models.Model):
    class Kind(models.TextChoices):
        CLONED_PLATE = "cloned", bi("我被套牌", "Cloned plate")
        APPEAL = "appeal", bi("申诉", "Appeal")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", bi("待审核", "Waiting for review")
        CONFIRMED = "confirmed", bi("申诉成立", "Upheld")
        REJECTED = "rejected", bi("申诉不成立", "Rejected")

    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SUBMITTED, db_index=True)
    violations = models.ManyToManyField(Violation, related_name="disputes")
    submitted_by_id = models.BigIntegerField()
    reason = models.TextField()
    submitted_at = models.DateTimeField()
    reviewed_by_id = models.BigIntegerField(null=True, blank=True)
    review_note = models.TextField(blank=True, default="")
    reviewed_at = models.DateTimeField(null=True, blank=True)


class DisputePhoto(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to="disputes/%Y/%m/")
    content_type = models.CharField(max_length=20)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField()


class Detention(models.Model):
    """扣留: a vehicle or a driving licence the police took and hold until the violations it was taken for are
    handled and their fines paid (道路交通安全法 第一百一十条、第一百一十二条; 公安部令第157号). Staff record it
    (``services.detention_record``); the holder asks for its return online (放车还证, the applications catalogue's
    ``detention_release``), which releases it (``services.detention_release``) once ``rules.release_refusals`` says
    nothing against it. The status moves only through the services, checked against ``rules.DETENTION``."""

    class Kind(models.TextChoices):
        VEHICLE = "vehicle", bi("扣留机动车", "Vehicle detained")
        LICENCE = "licence", bi("扣留驾驶证", "Driving licence detained")

    class Status(models.TextChoices):
        HELD = "held", bi("扣留中", "Held")
        RELEASED = "released", bi("已放车还证", "Returned")
        CANCELLED = "cancelled", bi("已撤销", "Cancelled")

    kind = models.CharField("扣留类型", max_length=8, choices=Kind.choices)
    notice_number = models.CharField("扣留凭证编号", max_length=32, unique=True,
                                     help_text="the number printed on the detention notice (扣留凭证) handed over")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="detentions",
                               help_text="the driver (licence) or the vehicle's owner (vehicle) it is returned to")
    vehicle = models.ForeignKey("registry.Vehicle", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="detentions")
    licence = models.ForeignKey("registry.DrivingLicence", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="detentions")
    violations = models.ManyToManyField(Violation, related_name="detentions")
    held_at_name = models.CharField("保管地点", max_length=80,
                                    help_text="the lot (停车场) holding a vehicle, or the office holding a licence")
    held_at_address = models.CharField("保管地点地址", max_length=200)
    detained_at = models.DateTimeField("扣留时间")
    detained_by_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD, db_index=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by_id = models.BigIntegerField(null=True, blank=True, help_text="who released it (None: the system)")
    release_reference = models.CharField(max_length=40, blank=True, default="",
                                         help_text="the online application (放车还证) that released it")
    cancel_reason = models.CharField(max_length=200, blank=True, default="")
    recorded_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-detained_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="vehicle", vehicle__isnull=False, licence__isnull=True)
                           | models.Q(kind="licence", licence__isnull=False, vehicle__isnull=True)),
                name="detention_kind_object"),
            # one detention held per licence and per vehicle, whatever two clerks record at once
            models.UniqueConstraint(fields=["licence"], condition=models.Q(status="held"),
                                    name="detention_one_held_per_licence"),
            models.UniqueConstraint(fields=["vehicle"], condition=models.Q(status="held"),
                                    name="detention_one_held_per_vehicle"),
        ]
        verbose_name = "扣留 detention"
        verbose_name_plural = "扣留 detentions"

    def __str__(self) -> str:
        return f"{self.notice_number} {self.kind}"
