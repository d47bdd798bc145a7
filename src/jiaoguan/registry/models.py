"""The authoritative records: persons, driving licences, vehicles, compulsory insurance (DOMAIN §3, §5).

Personal fields (name, ID number, phone, address) are encrypted at rest with a keyed hash beside the ones
that are looked up exactly. Status changes go through services (one function per transition) and are audited.
"""
from __future__ import annotations

from django.db import models

from jiaoguan.core.fields import EncryptedField, LookupHashField
from jiaoguan.core.i18n import bi
from jiaoguan.core.masking import mask_name


def _upper(value: str) -> str:
    return value.strip().upper()


class Person(models.Model):
    class Gender(models.TextChoices):
        MALE = "M", bi("男", "Male")
        FEMALE = "F", bi("女", "Female")

    name = EncryptedField(normalise=str.strip)
    name_hash = LookupHashField(source="name")
    id_number = EncryptedField(hash_purpose="id_number", normalise=_upper)
    id_number_hash = LookupHashField(source="id_number", unique=True)
    phone = EncryptedField(hash_purpose="phone", blank=True, null=True)  # phone on file (预留手机号)
    phone_hash = LookupHashField(source="phone", blank=True, null=True)
    address = EncryptedField(blank=True, default="")
    gender = models.CharField(max_length=1, choices=Gender.choices)
    birth_date = models.DateField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "人员 person"
        verbose_name_plural = "人员 persons"

    def __str__(self) -> str:
        return f"{mask_name(self.name)} #{self.pk}"


class DrivingLicence(models.Model):
    """A driving licence (机动车驾驶证). Its number is the holder's ID number (DOMAIN §3)."""

    class Status(models.TextChoices):
        VALID = "valid", bi("正常", "Valid")
        EXPIRED = "expired", bi("超过有效期", "Expired")
        SUSPENDED = "suspended", bi("暂扣/满分", "Suspended")
        REVOKED = "revoked", bi("吊销", "Revoked")
        CANCELLED = "cancelled", bi("注销", "Cancelled")

    class Validity(models.TextChoices):
        SIX_YEARS = "6y", bi("6年", "6 years")
        TEN_YEARS = "10y", bi("10年", "10 years")
        LONG_TERM = "long", bi("长期", "Long-term")

    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="licence")
    file_number = models.CharField("档案编号", max_length=12, unique=True)
    classes = models.CharField("准驾车型", max_length=40, help_text="space-separated, e.g. 'C1' or 'A2 D'")
    first_issue_date = models.DateField("初次领证日期")
    valid_from = models.DateField("有效期起始")
    valid_until = models.DateField("有效期至", null=True, blank=True, help_text="empty for long-term")
    validity = models.CharField(max_length=4, choices=Validity.choices, default=Validity.SIX_YEARS)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VALID, db_index=True)
    status_reason = models.CharField(
        "状态原因", max_length=32, blank=True, default="",
        help_text="why the licence has its status, a code of rules.CANCEL_REASONS for a cancelled one "
                  "(e.g. expiry_over_1_year); empty when there is nothing to say")
    probation_until = models.DateField("实习期至", null=True, blank=True)
    probation_classes = models.CharField(
        "实习准驾车型", max_length=40, blank=True, default="",
        help_text="space-separated: the classes whose probation ends on probation_until — every class of a first "
                  "licence, or the class added (增驾); probation is per class (公安部令第162号). Empty with a "
                  "probation date: not known (a record from the city's file that did not say)")
    class_since = models.JSONField(
        "准驾车型取得日期", default=dict, blank=True,
        help_text='{"B2": "2026-03-01"}: when a class added after the first issue (增驾) was obtained; a class not '
                  "listed was obtained on first_issue_date (rules.class_held_since)")
    reviewed_through = models.DateField(
        "审验至", null=True, blank=True,
        help_text="驾驶证审验: the last day of the latest scoring cycle whose review (A/B classes, a cycle with "
                  "points) is done (rules.review_due)")
    health_reported_through = models.DateField(
        "身体条件证明提交至", null=True, blank=True,
        help_text="drivers aged 70+: the last day of the latest scoring cycle whose health report (身体条件证明) is "
                  "recorded (rules.health_report_due)")
    health_postponed_until = models.DateField(
        "延期提交身体条件证明至", null=True, blank=True,
        help_text="延期提交身体条件证明 approved: the report owed moves to this date; no driving meanwhile")
    health_postponed_for = models.DateField(
        "延期提交身体条件证明所属周期", null=True, blank=True,
        help_text="the end of the scoring cycle whose health report health_postponed_until postponed")
    review_postponed_for = models.DateField(
        "延期审验所属周期", null=True, blank=True,
        help_text="the end of the scoring cycle whose review review_postponed_until postponed")
    review_postponed_until = models.DateField(
        "延期审验至", null=True, blank=True,
        help_text="延期审验 approved: the review owed moves to this date (rules.review_deadline); the holder may not "
                  "drive meanwhile")
    postponed_until = models.DateField(
        "延期换证至", null=True, blank=True,
        help_text="延期换证 approved (abroad, military service, illness): the renewal deadline moves here, so the "
                  "licence is not cancelled for expiry until a year after it; the holder may not drive meanwhile "
                  "(rules.effective_status)")
    cycle_points = models.PositiveSmallIntegerField(
        "累积记分", default=0,
        help_text="the points of the scoring cycle that starts on points_cycle_start: a mirror of the violations "
                  "app's points ledger (the authority), written only through services.licence_points_set")
    points_cycle_start = models.DateField(
        "记分所属周期起始日期", db_index=True,
        help_text="first day of the scoring cycle cycle_points belong to; when it is not the current cycle's, "
                  "the points are from a previous cycle not yet rolled over")
    imported_points = models.PositiveSmallIntegerField(
        "导入记分", null=True, blank=True,
        help_text="the points the city's file last reported (CSV import), handed to the points ledger as the "
                  "opening balance of imported_points_cycle_start's cycle; not the card's figure")
    imported_points_cycle_start = models.DateField("导入记分所属周期起始日期", null=True, blank=True)
    issuing_office = models.CharField(max_length=40, default="深圳市公安局交通警察局")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "驾驶证 driving licence"
        verbose_name_plural = "驾驶证 driving licences"

    @property
    def class_list(self) -> list[str]:
        return self.classes.split()

    def __str__(self) -> str:
        return f"驾驶证 {self.file_number} ({self.classes})"


class Vehicle(models.Model):
    class PlateType(models.TextChoices):
        # GA 36 号牌种类代码
        LARGE = "01", bi("大型汽车", "Large vehicle")
        SMALL = "02", bi("小型汽车", "Small car")
        TRAILER = "15", bi("挂车", "Trailer")
        COACH = "16", bi("教练汽车", "Learner car")
        MOTORCYCLE = "07", bi("普通摩托车", "Motorcycle")
        NEV_LARGE = "51", bi("大型新能源汽车", "Large new-energy")
        NEV_SMALL = "52", bi("小型新能源汽车", "Small new-energy")

    class Kind(models.TextChoices):
        SMALL_CAR = "small_car", bi("小型载客汽车", "Small passenger car")
        BUS = "bus", bi("大中型客车", "Bus or coach")
        TRUCK = "truck", bi("载货汽车", "Truck")
        TRAILER = "trailer", bi("挂车", "Trailer")
        MOTORCYCLE = "motorcycle", bi("摩托车", "Motorcycle")

    class Use(models.TextChoices):
        PRIVATE = "private", bi("非营运", "Private")
        PASSENGER_COMMERCIAL = "passenger_commercial", bi("营运客运", "Commercial passenger")
        TAXI = "taxi", bi("出租客运", "Taxi")
        FREIGHT = "freight", bi("货运", "Freight")
        BUS_SERVICE = "bus_service", bi("公交客运", "Public bus")
        LEARNER = "learner", bi("教练", "Driving school")
        OFFICIAL = "official", bi("警用/公务", "Official")

    class Status(models.TextChoices):
        NORMAL = "normal", bi("正常", "Normal")
        MORTGAGED = "mortgaged", bi("抵押", "Mortgaged")
        SEIZED = "seized", bi("查封", "Seized")
        STOLEN = "stolen", bi("被盗抢", "Stolen")
        SCRAPPED = "scrapped", bi("已注销/报废", "Scrapped")
        TRANSFERRED = "transferred", bi("已转出", "Transferred out")

    plate = models.CharField("号牌号码", max_length=10)
    plate_type = models.CharField("号牌种类", max_length=2, choices=PlateType.choices)
    vin = models.CharField("车辆识别代号", max_length=17, unique=True)
    owner = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="vehicles", null=True, blank=True)
    owner_company = models.CharField("所有人（单位）", max_length=120, blank=True)
    owner_uscc = models.CharField("统一社会信用代码", max_length=18, blank=True, db_index=True)
    brand = models.CharField("品牌型号", max_length=60)
    kind = models.CharField("车辆类型", max_length=20, choices=Kind.choices)
    use = models.CharField("使用性质", max_length=24, choices=Use.choices)
    seats = models.PositiveSmallIntegerField("核定载客", default=5)
    registration_date = models.DateField("初次登记日期")
    last_change_date = models.DateField("最近变更登记日期", null=True, blank=True)
    last_inspection_date = models.DateField("最近检验日期", null=True, blank=True)
    inspection_due = models.DateField("检验有效期至")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NORMAL, db_index=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plate", "plate_type"], name="vehicle_plate_unique")]
        indexes = [models.Index(fields=["plate"])]
        verbose_name = "机动车 vehicle"
        verbose_name_plural = "机动车 vehicles"

    def __str__(self) -> str:
        return f"{self.plate} ({self.get_plate_type_display()})"


class InsurancePolicy(models.Model):
    class Kind(models.TextChoices):
        COMPULSORY = "compulsory", bi("交强险", "Compulsory")
        COMMERCIAL = "commercial", bi("商业险", "Commercial")

    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="policies")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.COMPULSORY)
    insurer = models.CharField(max_length=60)
    policy_number = models.CharField(max_length=40, unique=True)
    starts_on = models.DateField()
    ends_on = models.DateField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["vehicle", "kind", "ends_on"])]
        verbose_name = "保险单 insurance policy"
        verbose_name_plural = "保险单 insurance policies"


class InspectionRule(models.Model):
    """The inspection schedule as data (DOMAIN §5): for vehicles of a kind and use, in years ``from_year`` to
    ``to_year`` of age (inclusive; empty = no end), an inspection is due every ``interval_months``;
    ``on_site`` False means the mark is issued online without a test (免检)."""

    kind = models.CharField(max_length=20, choices=Vehicle.Kind.choices)
    use = models.CharField(max_length=24, blank=True, help_text="empty = any use")
    from_year = models.PositiveSmallIntegerField()
    to_year = models.PositiveSmallIntegerField(null=True, blank=True)
    interval_months = models.PositiveSmallIntegerField()
    on_site = models.BooleanField(default=True)
    note = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["kind", "use", "from_year"]
        verbose_name = "检验周期规则 inspection rule"
        verbose_name_plural = "检验周期规则 inspection rules"


class Partner(models.Model):
    """An outside body that sends records over the signed partner API (core.signing, X-Partner-* headers):
    hospitals send health checks; insurers and the post may follow. Created by ``partner_create`` (command or
    admin), which shows the secret once."""

    class Kind(models.TextChoices):
        HOSPITAL = "hospital", bi("医院", "Hospital")

    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    name_zh = models.CharField("名称", max_length=80)
    name_en = models.CharField("Name", max_length=120, blank=True)
    key_id = models.CharField(max_length=40, unique=True)
    secret = EncryptedField()
    active = models.BooleanField(default=True)
    institution_code = models.CharField(
        "医疗机构代码", max_length=40, blank=True,
        help_text="a hospital's institution code (医疗机构执业许可证登记号 or 统一社会信用代码)")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "合作机构 partner"
        verbose_name_plural = "合作机构 partners"

    def __str__(self) -> str:
        return f"{self.name_zh} ({self.key_id})"


class HealthCheck(models.Model):
    """A driver's health-check record (机动车驾驶人身体条件证明) as a hospital sent it: only what a licence decision
    needs. The person is linked, not copied (no name or ID number stored here); the free-text conditions are
    encrypted. ``valid_until`` is fixed at receipt from the examination date and the configured validity
    (registry.health: HEALTH_CHECK_VALID_MONTHS, 6 months by default)."""

    class Result(models.TextChoices):
        FIT = "fit", bi("合格", "Fit")
        FIT_WITH_CONDITIONS = "fit_with_conditions", bi("有条件合格", "Fit with conditions")
        UNFIT = "unfit", bi("不合格", "Unfit")

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="health_checks")
    hospital = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="health_checks")
    record_number = models.CharField("体检编号", max_length=40)
    examined_on = models.DateField("体检日期")
    result = models.CharField("结论", max_length=20, choices=Result.choices)
    conditions = EncryptedField("限制条件", blank=True, default="",
                                help_text="e.g. 驾车时须戴眼镜 corrective lenses; required for fit with conditions")
    vision_left = models.DecimalField("左眼视力", max_digits=2, decimal_places=1,
                                      help_text="logarithmic scale (GB 11533), corrected if lenses are worn, e.g. 5.0")
    vision_right = models.DecimalField("右眼视力", max_digits=2, decimal_places=1)
    colour_vision_normal = models.BooleanField("无红绿色盲")
    hearing_normal = models.BooleanField("听力正常")
    limbs_normal = models.BooleanField("四肢及躯干正常")
    valid_until = models.DateField("有效期至")
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hospital", "record_number"],
                                               name="health_check_record_unique")]
        indexes = [models.Index(fields=["person", "valid_until"])]
        verbose_name = "体检记录 health check"
        verbose_name_plural = "体检记录 health checks"

    def __str__(self) -> str:
        return f"体检 {self.record_number} ({self.get_result_display()})"
