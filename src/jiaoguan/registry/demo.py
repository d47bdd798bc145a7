"""A synthetic Shenzhen (粤B) for development, demos, tests and benchmarks: ``generate_city(persons=N)``.

Everything is derived from one ``random.Random(seed)`` and the date ``today`` (default ``clock.today()``), so a
seed gives the same city on the same day: names (Faker's zh_CN surname and given-name tables, weighted like
Faker does), ID numbers with valid check digits from Shenzhen district codes, unique phones, Shenzhen
addresses, licences with plausible classes and consistent dates, vehicles with valid VINs and plates, and
compulsory policies. Rows are written in batches (COPY on PostgreSQL, ``bulk_create`` elsewhere; encryption of
personal fields included) inside one transaction, so a crash leaves no half city — unless ``workers`` > 1 asks
for a Shenzhen-size city from forked writers (``generate_city``).

Besides the random population there are fixed showcase people (``SHOWCASE``) whose names, ID numbers, phones
and plates never change, so README and testers can name them; their dates are relative to ``today`` so their
situation (in probation, expired, overdue…) holds whenever the city is generated.
"""
from __future__ import annotations

import bisect
import datetime as dt
import enum
import itertools
import multiprocessing
import random
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

from django.db import connection, connections, models, reset_queries, transaction
from faker.providers.person.zh_CN import Provider as ZhPersonProvider

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.fields import EncryptedField
from jiaoguan.core.identifiers import PLATE_LETTERS, id_number_birth_date, id_number_is_male, make_id_number, make_vin
from jiaoguan.registry import rules
from jiaoguan.registry.models import DrivingLicence, InsurancePolicy, Person, Vehicle
from jiaoguan.registry.selectors import id_number_hash, inspection_rules
from jiaoguan.registry.services import licence_points_imported, next_file_number

# --- Reference data ---------------------------------------------------------------------------------------------

# Shenzhen district codes (GB/T 2260) with rough weights by population; the same districts for addresses.
DISTRICTS: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "440303": ("罗湖区", 8, ("深南东路", "人民南路", "东门中路", "宝安南路", "黄贝路", "爱国路", "笋岗路", "春风路")),
    "440304": ("福田区", 12, ("深南中路", "福华一路", "华强北路", "益田路", "彩田路", "红荔路", "新洲路", "泰然九路")),
    "440305": ("南山区", 12, ("深南大道", "科苑路", "南海大道", "后海大道", "沙河西路", "工业八路", "南山大道", "学府路")),
    "440306": ("宝安区", 20, ("宝安大道", "新安六路", "创业一路", "建安一路", "西乡大道", "福永大道", "沙井路", "广深路")),
    "440307": ("龙岗区", 18, ("龙岗大道", "布吉路", "深惠路", "龙翔大道", "五和大道", "平吉大道", "黄阁路", "坂雪岗大道")),
    "440308": ("盐田区", 2, ("深盐路", "海山路", "盐田路", "东海道")),
    "440309": ("龙华区", 13, ("人民路", "梅龙大道", "民治大道", "东环一路", "龙华大道", "布龙路")),
    "440310": ("坪山区", 4, ("深汕路", "坪山大道", "东纵路", "金牛路")),
    "440311": ("光明区", 5, ("光明大道", "华夏路", "观光路", "公常路", "光侨路")),
}
_DISTRICT_CODES = list(DISTRICTS)
_DISTRICT_CUM = list(itertools.accumulate(d[1] for d in DISTRICTS.values()))
ESTATES = ("花园", "小区", "新村", "家园", "公寓", "苑", "大厦", "名苑", "雅居", "华庭")
ESTATE_HEADS = ("阳光", "锦绣", "碧海", "翠竹", "金域", "万科", "中海", "星河", "桃源", "莲花", "景田", "海滨", "丽景", "龙城")

_SURNAMES = list(ZhPersonProvider.last_names.keys())
_SURNAME_CUM = list(itertools.accumulate(ZhPersonProvider.last_names.values()))
_GIVEN_MALE = list(ZhPersonProvider.first_names_male)
_GIVEN_FEMALE = list(ZhPersonProvider.first_names_female)
_GIVEN_SINGLE = [n for n in _GIVEN_MALE + _GIVEN_FEMALE if len(n) == 1]

PHONE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                  "156", "157", "158", "159", "166", "177", "180", "181", "182", "185", "186", "187", "188",
                  "189", "191", "198", "199")

# (brand and model, first 8 VIN characters: WMI + VDS)
SMALL_CARS = (("丰田 凯美瑞", "LVGBE40K"), ("本田 雅阁", "LHGCV165"), ("日产 轩逸", "LGBH52E0"),
              ("大众 朗逸", "LSVAL418"), ("大众 速腾", "LFV2A215"), ("别克 英朗", "LSGJA52H"),
              ("宝马 3系", "LBV8V310"), ("奔驰 C级", "LE4ZG8HB"), ("吉利 帝豪", "L6T7844S"),
              ("哈弗 H6", "LGWEF4A5"), ("长安 CS75", "LS5A3DKE"), ("奥迪 A4L", "LFV3A28W"))
NEV_CARS = (("比亚迪 汉EV", "LGXCE4CB"), ("比亚迪 秦PLUS DM-i", "LGXC74C4"), ("比亚迪 海豚", "LGXCH4CD"),
            ("比亚迪 宋PLUS DM-i", "LGXCG6DF"), ("特斯拉 Model Y", "LRWYGCEK"), ("特斯拉 Model 3", "LRW3E7EK"),
            ("广汽埃安 AION S", "LMGHT1L5"), ("蔚来 ES6", "LJ1EEASP"), ("理想 L7", "LW433B10"))
TRUCKS = (("东风 天龙", "LGAX4DG4"), ("解放 J6P", "LFWSRXSJ"), ("福田 欧曼", "LRDS6PEB"), ("五十铃 KV100", "LWLDAA1H"))
BUSES = (("比亚迪 K8 纯电动客车", "LC06S24R"), ("宇通 ZK6122", "LZYTBTD6"), ("金龙 XMQ6127", "LKLR1GSG"))
# the models that are new-energy vehicles (battery, plug-in hybrid, range extender): a green plate, 号牌种类 51/52
NEV_MODELS = frozenset(b for b, _w in NEV_CARS) | frozenset(b for b, _w in BUSES if "纯电动" in b)
MOTORCYCLES = (("豪爵铃木 UY125", "LC6PCJG9"), ("新大洲本田 CBF190", "LWBPCK10"), ("雅马哈 ZY125", "LBPKE097"))
INSURERS = (("中国人民财产保险", "PDZA"), ("中国平安财产保险", "PAZH"), ("中国太平洋财产保险", "ACPU"),
            ("中国人寿财产保险", "CLPC"), ("中华联合财产保险", "CICP"), ("大地财产保险", "CCIC"))
# ISO 3779 model-year codes, 1980 = A, cycling every 30 years (no I O Q U Z 0)
MODEL_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"


def model_year_code(year: int) -> str:
    return MODEL_YEAR_CODES[(year - 1980) % 30]


# --- Showcase people ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShowcaseVehicle:
    plate: str
    plate_type: str
    brand: str
    wmi_vds: str
    serial: int
    registered_days_ago: int
    state: str = "ok"  # ok / overdue / uninsured


@dataclass(frozen=True)
class ShowcasePerson:
    key: str
    zh: str
    en: str
    name: str
    region: str
    birth: dt.date
    sequence: int
    phone: str
    licence: str | None  # classes
    licence_state: str = "ok"  # ok / probation / expired / suspended
    first_issue_years_ago: int = 10
    vehicles: tuple[ShowcaseVehicle, ...] = ()

    @property
    def id_number(self) -> str:
        return make_id_number(self.region, self.birth, self.sequence)


_V = ShowcaseVehicle
SHOWCASE: tuple[ShowcasePerson, ...] = (
    ShowcasePerson("citizen", "市民：C1驾驶人，名下2辆车（含1辆新能源）",
                   "Citizen: C1 holder in good standing with two vehicles, one new-energy",
                   "李建华", "440304", dt.date(1985, 6, 15), 123, "13800138000", "C1", first_issue_years_ago=17,
                   vehicles=(_V("粤BD12345", Vehicle.PlateType.NEV_SMALL, "比亚迪 汉EV", "LGXCE4CB", 100001, 3 * 365 + 40),
                             _V("粤BA7M29", Vehicle.PlateType.SMALL, "丰田 凯美瑞", "LVGBE40K", 100002, 7 * 365 + 100))),
    ShowcasePerson("relative", "亲属：名下一辆私家小型汽车，可被市民绑定", "Relative: owns a private small car the citizen may bind",
                   "陈秀英", "440305", dt.date(1987, 11, 2), 246, "13900139000", "C1", first_issue_years_ago=12,
                   vehicles=(_V("粤BR5628", Vehicle.PlateType.SMALL, "大众 朗逸", "LSVAL418", 100003, 5 * 365 + 20),)),
    ShowcasePerson("newcomer", "新用户：有驾驶证和车辆，尚未注册账户",
                   "Newcomer: licence and vehicle, no account yet (registration demo)",
                   "赵婷", "440306", dt.date(1995, 3, 21), 58, "13700137000", "C1", first_issue_years_ago=8,
                   vehicles=(_V("粤BK3Z57", Vehicle.PlateType.SMALL, "本田 雅阁", "LHGCV165", 100004, 2 * 365 + 75),)),
    ShowcasePerson("probation", "实习期驾驶人", "Driver in probation (licence issued four months ago)",
                   "刘洋", "440307", dt.date(2005, 8, 9), 315, "13600136000", "C1", licence_state="probation"),
    ShowcasePerson("expired", "驾驶证超过有效期未换证", "Licence expired about three months ago, not renewed",
                   "黄志强", "440303", dt.date(1970, 1, 26), 77, "13500135000", "C1", licence_state="expired"),
    ShowcasePerson("overdue", "名下车辆逾期未检验", "Owns a vehicle overdue for inspection",
                   "吴敏", "440308", dt.date(1979, 4, 12), 188, "13300133000", "C1", first_issue_years_ago=20,
                   vehicles=(_V("粤BT6Q31", Vehicle.PlateType.SMALL, "日产 轩逸", "LGBH52E0", 100005, 12 * 365 + 200,
                                "overdue"),)),
    ShowcasePerson("uninsured", "名下车辆交强险已过期", "Owns a vehicle whose compulsory insurance has lapsed",
                   "周海涛", "440309", dt.date(1982, 12, 3), 99, "13200132000", "C1", first_issue_years_ago=15,
                   vehicles=(_V("粤BL9W08", Vehicle.PlateType.SMALL, "吉利 帝豪", "L6T7844S", 100006, 4 * 365 + 50,
                                "uninsured"),)),
    ShowcasePerson("suspended", "驾驶证满分暂扣", "Licence suspended after a full score (12 points)",
                   "孙丽", "440310", dt.date(1990, 7, 30), 402, "13100131000", "B2", licence_state="suspended",
                   first_issue_years_ago=12),
    ShowcasePerson("trucker", "大型货车驾驶人：上一记分周期有记分，须办理驾驶证审验",
                   "B2 driver with points in the last scoring cycle: owes a licence review (审验)",
                   "马国强", "440306", dt.date(1980, 3, 14), 137, "13400134000", "B2", first_issue_years_ago=9),
    ShowcasePerson("detained", "驾驶证被扣留：违法已处理、罚款已缴清，可网上申请放车还证",
                   "Licence detained at the roadside; the violation is handled and paid: asks for its return online",
                   "何晓东", "440304", dt.date(1988, 10, 6), 219, "15800158000", "C1", first_issue_years_ago=11,
                   vehicles=(_V("粤BH2Q75", Vehicle.PlateType.SMALL, "大众 速腾", "LFV2A21K", 100008, 6 * 365 + 30),)),
    ShowcasePerson("senior", "年满70周岁的驾驶人：须每年提交身体条件证明（医院已推送体检信息）",
                   "Driver aged 75: reports a health check every year (the hospital has sent one)",
                   "林国栋", "440303", dt.date(1951, 4, 20), 93, "15700157000", "C1", first_issue_years_ago=30),
    ShowcasePerson("learner", "学员：学车申请已受理，可预约驾驶人考试", "Learner: application to learn accepted; books driving tests",
                   "郑晓雨", "440311", dt.date(2003, 5, 18), 64, "13000130000", None),
    ShowcasePerson("newcar", "新车车主：车辆刚注册，可网上选号", "New-car owner: vehicle just registered; chooses a plate online",
                   "王磊", "440307", dt.date(1992, 9, 9), 275, "15900159000", "C1", first_issue_years_ago=6,
                   vehicles=(_V("粤BDN2686", Vehicle.PlateType.NEV_SMALL, "特斯拉 Model 3", "LRW3E7FA", 100007, 6),)),
)
SHOWCASE_PHONES = frozenset(p.phone for p in SHOWCASE)


# --- Result -------------------------------------------------------------------------------------------------------

@dataclass
class DemoCity:
    seed: int
    today: dt.date
    persons: int = 0  # rows created by this run (showcase included)
    licences: int = 0
    vehicles: int = 0
    policies: int = 0
    seconds: float = 0.0
    showcase: dict[str, Person] = field(default_factory=dict)
    edge_cases: dict[str, int] = field(default_factory=dict)

    @property
    def persons_per_second(self) -> float:
        return self.persons / self.seconds if self.seconds else 0.0

    def showcase_rows(self) -> list[dict]:
        """What the command prints for testers: key, description, name, ID number, phone, plates."""
        rows = []
        for spec in SHOWCASE:
            person = self.showcase.get(spec.key)
            if person is None:
                continue
            rows.append({"key": spec.key, "zh": spec.zh, "en": spec.en, "name": person.name,
                         "id_number": person.id_number, "phone": person.phone,
                         "licence": spec.licence or "", "plates": [v.plate for v in spec.vehicles]})
        return rows


# --- Generator ----------------------------------------------------------------------------------------------------

# plate kinds whose number space (about 2.5 million under 粤B) a Shenzhen-size city does not fill
_UNBOUNDED_PLATES = frozenset({Vehicle.PlateType.SMALL, Vehicle.PlateType.LARGE, Vehicle.PlateType.MOTORCYCLE})


class _PlateSpaceFull(Exception):
    """No free plate number of a kind was found in many tries: the kind's number space is nearly used up."""


class _Generator:
    def __init__(self, *, seed: int, today: dt.date, batch_size: int, out: TextIO | None):
        self.rng = random.Random(seed)
        # a worker of a parallel build (``generate_city(workers=n)``) takes only the identifiers whose CRC-32 falls
        # in its share (``mine``), so the workers' persons, phones, plates and VINs never collide
        self.share, self.shares = 0, 1
        self.seed = seed
        self.today = today
        self.batch_size = batch_size
        self.out = out
        self.rules = inspection_rules()
        self.empty = not Person.objects.exists()
        # what already exists, so a second run never collides (empty sets on a fresh database)
        if self.empty:
            self.id_hashes: set[str] = set()
            self.plates: set[tuple[str, str]] = set()
            self.vins: set[str] = set()
            self.phone_hashes: set[str] = set()
            self.policy_numbers: set[str] = set()
        else:
            self.id_hashes = set(Person.objects.values_list("id_number_hash", flat=True))
            self.plates = set(Vehicle.objects.values_list("plate", "plate_type"))
            self.vins = set(Vehicle.objects.values_list("vin", flat=True))
            self.phone_hashes = set(Person.objects.exclude(phone_hash=None).values_list("phone_hash", flat=True))
            self.policy_numbers = set(InsurancePolicy.objects.values_list("policy_number", flat=True))
        self.id_bodies: set[str] = set()
        self.phones: set[str] = set(SHOWCASE_PHONES)
        self.plate_numbers: set[str] = {p for p, _ in self.plates} | {v.plate for s in SHOWCASE for v in s.vehicles}
        self.next_file = int(next_file_number()[4:])
        self.policy_serial = itertools.count(1)
        self.vin_serial = itertools.count(1)
        self.edge = {"licence_expired": 0, "licence_cancelled": 0, "licence_in_probation": 0,
                     "licence_suspended": 0, "vehicle_inspection_overdue": 0, "vehicle_uninsured": 0,
                     "vehicle_new_energy": 0, "owners_of_2_or_more": 0}
        self.now = clock.now()

    # -- small helpers

    def as_worker(self, share: int, shares: int) -> None:
        """Make this generator (forked with the showcase already written) worker ``share`` of ``shares``: its own
        random stream, its share of every identifier space, its own file and policy numbers."""
        self.rng = random.Random(f"{self.seed}:{share}/{shares}")
        self.share, self.shares = share, shares
        self.next_file += share
        self.policy_serial = itertools.count(1 + share, shares)
        self.edge = dict.fromkeys(self.edge, 0)

    def mine(self, key: str) -> bool:
        return self.shares == 1 or zlib.crc32(key.encode()) % self.shares == self.share

    def file_number(self) -> str:
        n = self.next_file
        self.next_file += self.shares
        return f"4403{n:08d}"

    def name(self, male: bool) -> str:
        rng = self.rng
        surname = _SURNAMES[bisect.bisect(_SURNAME_CUM, rng.random() * _SURNAME_CUM[-1])]
        if rng.random() < 0.35:
            given = rng.choice(_GIVEN_SINGLE) + rng.choice(_GIVEN_SINGLE)
        else:
            given = rng.choice(_GIVEN_MALE if male else _GIVEN_FEMALE)
        return surname + given

    def phone(self) -> str:
        rng = self.rng
        while True:
            phone = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            if phone not in self.phones and self.mine(phone):
                self.phones.add(phone)
                if self.empty:
                    return phone
                if EncryptedField.hash_of(Person, "phone", phone) not in self.phone_hashes:
                    return phone

    def district(self) -> str:
        return _DISTRICT_CODES[bisect.bisect(_DISTRICT_CUM, self.rng.random() * _DISTRICT_CUM[-1])]

    def address(self) -> str:
        rng = self.rng
        name, _, streets = DISTRICTS[self.district()]
        estate = rng.choice(ESTATE_HEADS) + rng.choice(ESTATES)
        return (f"广东省深圳市{name}{rng.choice(streets)}{rng.randint(1, 3999)}号{estate}"
                f"{rng.randint(1, 30)}栋{rng.randint(1, 33)}{rng.randint(1, 12):02d}室")

    def birth_date(self) -> dt.date:
        rng = self.rng
        # ages 18–80, weighted like a young city: most between 25 and 55
        band = rng.choices(((18, 25), (25, 35), (35, 45), (45, 55), (55, 65), (65, 80)),
                           weights=(10, 27, 26, 18, 11, 8))[0]
        age_days = rng.randint(band[0] * 365 + 1, band[1] * 365 - 1)
        birth = self.today - dt.timedelta(days=age_days)
        return birth

    def id_number(self, birth: dt.date, male: bool) -> str:
        rng = self.rng
        while True:
            region = self.district()
            seq = rng.randrange(500) * 2 + (1 if male else 0)
            number = make_id_number(region, birth, seq)
            if number in self.id_bodies or not self.mine(number):
                continue
            self.id_bodies.add(number)
            if self.empty or id_number_hash(number) not in self.id_hashes:
                return number

    def plate(self, plate_type: str) -> str:
        """A free plate number of the kind. The small kinds' spaces are finite (2 × 34 × 10,000 new-energy small
        plates under 粤B): past 200 tries the space is taken as full (_PlateSpaceFull) and the caller chooses
        another kind, as a city whose new-energy numbers ran out would."""
        rng = self.rng
        letters, digits, ld = PLATE_LETTERS, "0123456789", PLATE_LETTERS + "0123456789"
        for _ in itertools.count() if plate_type in _UNBOUNDED_PLATES else range(200):
            if plate_type == Vehicle.PlateType.NEV_SMALL:
                second = rng.choice(ld if rng.random() < 0.3 else digits)
                rest = rng.choice("DF") + second + f"{rng.randrange(10000):04d}"
            elif plate_type == Vehicle.PlateType.NEV_LARGE:
                rest = f"{rng.randrange(100000):05d}" + rng.choice("DF")
            elif plate_type == Vehicle.PlateType.COACH:
                rest = rng.choice(letters) + f"{rng.randrange(1000):03d}" + "学"
            else:
                chars = [rng.choice(letters)] + [rng.choice(digits) for _ in range(4)]
                if rng.random() < 0.4:  # one more letter in the tail, as many Shenzhen plates have
                    chars[rng.randint(1, 4)] = rng.choice(letters)
                rest = "".join(chars)
            plate = "粤B" + rest
            if plate not in self.plate_numbers and self.mine(plate):
                self.plate_numbers.add(plate)
                return plate
        raise _PlateSpaceFull(plate_type)

    def vin(self, wmi_vds: str, year: int) -> str:
        rng = self.rng
        while True:
            vis = model_year_code(year) + rng.choice("0123456789ABCDEFGH") + f"{rng.randrange(10**6):06d}"
            vin = make_vin(wmi_vds, vis)
            if vin not in self.vins and self.mine(vin):
                self.vins.add(vin)
                return vin

    def policy_number(self, insurer_code: str, start: dt.date) -> str:
        while True:
            number = f"{insurer_code}{start.year}4403{next(self.policy_serial):010d}"
            if number not in self.policy_numbers:
                self.policy_numbers.add(number)
                return number

    # -- records

    def policy(self, vehicle: Vehicle, insurer: str, code: str, start: dt.date, end: dt.date) -> InsurancePolicy:
        return InsurancePolicy(vehicle=vehicle, insurer=insurer, policy_number=self.policy_number(code, start),
                               starts_on=start, ends_on=end, created_at=self.now)

    def licence_for(self, person: Person, *, classes: str, first_issue: dt.date, state: str = "auto",
                    points: int | None = None, renewals: int | None = None) -> DrivingLicence:
        """A licence with a consistent history of renewals from ``first_issue`` up to today (at most
        ``renewals`` of them: then it lapses, expired or, a year later, cancelled)."""
        rng, today = self.rng, self.today
        validity = rules.VALIDITY_6Y
        valid_from = first_issue
        valid_until = rules.validity_until(valid_from, validity)
        done = 0
        while valid_until is not None and valid_until < today:
            if renewals is not None and done >= renewals:
                break
            if state == "auto" and rng.random() < 0.03:
                break  # never renewed: expired, or cancelled after a year
            full_score = state == "auto" and rng.random() < 0.04
            validity = rules.validity_after_renewal(validity, full_score_in_period=full_score)
            done += 1
            valid_from = valid_until
            valid_until = rules.validity_until(valid_from, validity)
        status = rules.effective_status(stored=rules.STATUS_VALID, valid_until=valid_until, on=today)
        if points is None:
            points = 0 if rng.random() < 0.75 else rng.choice((1, 1, 2, 3, 3, 4, 6, 6, 7, 9))
        if state == "suspended" or (state == "auto" and status == rules.STATUS_VALID and rng.random() < 0.003):
            status, points = rules.STATUS_SUSPENDED, 12
        probation_until = rules.probation_end(first_issue)
        if status == rules.STATUS_EXPIRED:
            self.edge["licence_expired"] += 1
        elif status == rules.STATUS_CANCELLED:
            self.edge["licence_cancelled"] += 1
        elif status == rules.STATUS_SUSPENDED:
            self.edge["licence_suspended"] += 1
        if rules.in_probation(probation_until, today):
            self.edge["licence_in_probation"] += 1
        # every lapse here is one of not renewing: the cancellation is the expiry kind (restorable after 科目一)
        status_reason = rules.CANCEL_EXPIRY if status == rules.STATUS_CANCELLED else ""
        return DrivingLicence(
            person=person, file_number=self.file_number(), classes=classes, first_issue_date=first_issue,
            valid_from=valid_from, valid_until=valid_until, validity=validity, status=status,
            status_reason=status_reason, probation_until=probation_until, probation_classes=classes,
            cycle_points=points,
            points_cycle_start=rules.scoring_cycle(first_issue, today)[0], created_at=self.now, updated_at=self.now,
            # like the city's file: the points reach the ledger as opening balances (write()), which the card mirrors
            imported_points=points or None,
            imported_points_cycle_start=rules.scoring_cycle(first_issue, today)[0] if points else None,
        )

    def random_classes(self, birth: dt.date) -> tuple[str, dt.date] | None:
        """Classes and a first-issue date consistent with the age limits, or None (no licence)."""
        rng, today = self.rng, self.today
        age = rules.age_on(birth, today)
        r = rng.random()
        if r < 0.78:
            classes = "C1"
        elif r < 0.88:
            classes = "C2"
        elif r < 0.92:
            classes = "C1 E" if age <= 68 else "C1"
        elif r < 0.95:
            classes = "B2" if age <= 60 else "C1"
        elif r < 0.97:
            classes = "A2" if age <= 60 else "C1"
        elif r < 0.98:
            classes = "A1" if age <= 60 else "C1"
        elif r < 0.99:
            classes = "B1" if age <= 60 else "C1"
        else:
            classes = "C1 D" if age <= 68 else "C1"
        codes = classes.split()
        min_age = max(rules.LICENCE_CLASSES[c].min_age for c in codes)
        earliest = max(rules.add_years(birth, min_age), dt.date(1985, 1, 1))
        if earliest >= today:
            if min_age > 18:
                return self.random_classes(birth) if age >= 18 else None
            return None
        # most people pass the test within 15 years of becoming eligible; a few later
        span = (today - earliest).days
        offset = int(min(span, 15 * 365) * rng.random() ** 1.3) if rng.random() < 0.9 else rng.randrange(span)
        return classes, earliest + dt.timedelta(days=max(0, min(offset, span - 1)))

    def vehicle_for(self, owner: Person, *, kind: str, use: str, plate_type: str, brand: str, wmi_vds: str,
                    registered: dt.date, plate: str | None = None,
                    state: str = "auto") -> tuple[Vehicle, list[InsurancePolicy]]:
        rng, today = self.rng, self.today
        vin = self.vin(wmi_vds, registered.year if rng.random() < 0.8 else registered.year + 1)
        plate = plate or self.plate(plate_type)
        self.plates.add((plate, plate_type))
        points = list(itertools.takewhile(
            lambda p: p.due < today + dt.timedelta(days=800),
            rules.inspection_points(registration_date=registered, kind=kind, use=use, rules=self.rules)))
        past = [p for p in points if p.due < today]
        upcoming = [p for p in points if p.due >= today]
        overdue = state == "overdue" or (state == "auto" and past and rng.random() < 0.03)
        if overdue and past:
            due = past[-1].due
            previous = past[-2] if len(past) > 1 else None
            self.edge["vehicle_inspection_overdue"] += 1
        else:
            due = upcoming[0].due if upcoming else today + dt.timedelta(days=365)
            previous = past[-1] if past else None
        last_inspection = previous.due - dt.timedelta(days=rng.randint(3, 80)) if previous else None
        if last_inspection is not None and last_inspection < registered:
            last_inspection = None
        vehicle = Vehicle(
            plate=plate, plate_type=plate_type, vin=vin, owner=owner, brand=brand, kind=kind, use=use,
            seats={"small_car": 5, "bus": rng.choice((19, 35, 45, 53)), "truck": 3, "trailer": 0,
                   "motorcycle": 2}[kind],
            registration_date=registered, last_inspection_date=last_inspection, inspection_due=due,
            status=Vehicle.Status.NORMAL, created_at=self.now, updated_at=self.now,
        )
        if plate_type in (Vehicle.PlateType.NEV_SMALL, Vehicle.PlateType.NEV_LARGE):
            self.edge["vehicle_new_energy"] += 1
        # compulsory cover: yearly from the registration anniversary; ~2% lapsed or never recorded
        years = rules.age_on(registered, today)
        current_start = rules.add_years(registered, years)
        uninsured = state == "uninsured" or (state == "auto" and rng.random() < 0.02)
        policies = []
        insurer, code = rng.choice(INSURERS)
        if uninsured:
            self.edge["vehicle_uninsured"] += 1
            if years >= 1 and (state == "uninsured" or rng.random() < 0.75):
                start = rules.add_years(registered, years - 1)
                end = current_start - dt.timedelta(days=1)
                if state == "uninsured" and (today - end).days < 30:  # lapsed clearly, not yesterday
                    start, end = start - dt.timedelta(days=60), end - dt.timedelta(days=60)
                policies.append(self.policy(vehicle, insurer, code, start, end))
        else:
            start = current_start
            end = rules.add_years(start, 1) - dt.timedelta(days=1)
            policies.append(self.policy(vehicle, insurer, code, start, end))
        return vehicle, policies

    def random_vehicle(self, owner: Person, birth: dt.date) -> tuple[Vehicle, list[InsurancePolicy]]:
        rng, today = self.rng, self.today
        earliest = max(rules.add_years(birth, 18), today - dt.timedelta(days=20 * 365))
        span = max(1, (today - earliest).days - 7)
        registered = earliest + dt.timedelta(days=int(span * (1 - rng.random() ** 1.6)))  # newer cars commoner
        r = rng.random()
        if r < 0.88:
            kind, use = Vehicle.Kind.SMALL_CAR, Vehicle.Use.PRIVATE
        elif r < 0.92:
            kind, use = Vehicle.Kind.TRUCK, Vehicle.Use.FREIGHT
        elif r < 0.95:
            kind, use = Vehicle.Kind.SMALL_CAR, rng.choice((Vehicle.Use.TAXI, Vehicle.Use.PASSENGER_COMMERCIAL))
        elif r < 0.96:
            kind, use = Vehicle.Kind.BUS, Vehicle.Use.PASSENGER_COMMERCIAL
        elif r < 0.98:
            kind, use = Vehicle.Kind.MOTORCYCLE, Vehicle.Use.PRIVATE
        else:
            kind, use = Vehicle.Kind.SMALL_CAR, rng.choice((Vehicle.Use.OFFICIAL, Vehicle.Use.LEARNER))
        if use in (Vehicle.Use.TAXI, Vehicle.Use.PASSENGER_COMMERCIAL) and (today - registered).days > 8 * 365:
            registered = today - dt.timedelta(days=rng.randint(30, 8 * 365))  # commercial cars retire at 8 years
        if kind == Vehicle.Kind.SMALL_CAR:
            nev = registered.year >= 2015 and rng.random() < (0.55 if registered.year >= 2021 else 0.25)
            if use == Vehicle.Use.LEARNER:
                nev = False
            brand, wmi = rng.choice(NEV_CARS if nev else SMALL_CARS)
            plate_type = Vehicle.PlateType.NEV_SMALL if nev else Vehicle.PlateType.SMALL
            if use == Vehicle.Use.LEARNER:
                plate_type = Vehicle.PlateType.COACH
        elif kind == Vehicle.Kind.BUS:
            brand, wmi = rng.choice(BUSES)
            plate_type = Vehicle.PlateType.NEV_LARGE if brand in NEV_MODELS else Vehicle.PlateType.LARGE
        elif kind == Vehicle.Kind.TRUCK:
            brand, wmi = rng.choice(TRUCKS)
            plate_type = Vehicle.PlateType.LARGE
        else:
            brand, wmi = rng.choice(MOTORCYCLES)
            plate_type = Vehicle.PlateType.MOTORCYCLE
        try:
            plate = self.plate(plate_type)
        except _PlateSpaceFull:  # the kind's numbers ran out (a Shenzhen-size city): a private petrol car instead
            kind, use, plate_type = Vehicle.Kind.SMALL_CAR, Vehicle.Use.PRIVATE, Vehicle.PlateType.SMALL
            brand, wmi = rng.choice(SMALL_CARS)
            plate = self.plate(plate_type)
        return self.vehicle_for(owner, kind=kind, use=use, plate_type=plate_type, brand=brand, wmi_vds=wmi,
                                registered=registered, plate=plate)

    # -- batches

    def write(self, persons: list[Person], licences: list[DrivingLicence],
              vehicles: list[Vehicle], policies: list[InsurancePolicy]) -> None:
        # with DEBUG on, Django keeps the text of recent queries; bulk inserts make them huge: drop them
        reset_queries()
        _insert(Person, persons, self.batch_size)
        for licence in licences:
            licence.person_id = licence.person.pk
        _insert(DrivingLicence, licences, self.batch_size)
        licence_points_imported(licences=[(lic.pk, lic.cycle_points, lic.points_cycle_start)
                                          for lic in licences if lic.cycle_points], source="registry.demo")
        for vehicle in vehicles:
            vehicle.owner_id = vehicle.owner.pk
        _insert(Vehicle, vehicles, self.batch_size)
        for policy in policies:
            policy.vehicle_id = policy.vehicle.pk
        _insert(InsurancePolicy, policies, self.batch_size)

    def new_person(self, *, name: str, id_number: str, phone: str, address: str) -> Person:
        return Person(name=name, id_number=id_number, phone=phone, address=address,
                      gender=Person.Gender.MALE if id_number_is_male(id_number) else Person.Gender.FEMALE,
                      birth_date=id_number_birth_date(id_number), created_at=self.now, updated_at=self.now)

    def showcase(self, city: DemoCity) -> None:
        today = self.today
        persons, licences, vehicles, policies = [], [], [], []
        for spec in SHOWCASE:
            existing = Person.objects.filter(id_number_hash=id_number_hash(spec.id_number)).first()
            if existing is not None:
                city.showcase[spec.key] = existing
                continue
            self.id_bodies.add(spec.id_number)
            person = self.new_person(name=spec.name, id_number=spec.id_number, phone=spec.phone,
                                     address=self.address())
            persons.append(person)
            city.showcase[spec.key] = person
            if spec.licence:
                if spec.licence_state == "probation":
                    first_issue = today - dt.timedelta(days=120)
                    licence = self.licence_for(person, classes=spec.licence, first_issue=first_issue, points=0,
                                               state="ok")
                elif spec.licence_state == "expired":
                    first_issue = rules.add_years(today, -16) - dt.timedelta(days=95)
                    # 6 years, renewed for 10, then not renewed: expired about three months ago
                    licence = self.licence_for(person, classes=spec.licence, first_issue=first_issue,
                                               state="expired", points=0, renewals=1)
                else:
                    first_issue = rules.add_years(today, -spec.first_issue_years_ago) - dt.timedelta(days=37)
                    licence = self.licence_for(person, classes=spec.licence, first_issue=first_issue,
                                               state="suspended" if spec.licence_state == "suspended" else "ok",
                                               points=2 if spec.key == "citizen" else 0)
                licences.append(licence)
            for v in spec.vehicles:
                registered = today - dt.timedelta(days=v.registered_days_ago)
                vehicle, vps = self.vehicle_for(person, kind=Vehicle.Kind.SMALL_CAR, use=Vehicle.Use.PRIVATE,
                                                plate_type=v.plate_type, brand=v.brand, wmi_vds=v.wmi_vds,
                                                registered=registered, plate=v.plate, state=v.state)
                vehicles.append(vehicle)
                policies.extend(vps)
        self.write(persons, licences, vehicles, policies)
        # the trucker's last scoring cycle had 3 points (an opening balance of the ledger): a review is owed
        for licence in licences:
            if licence.person.pk == getattr(city.showcase.get("trucker"), "pk", None):
                cycle = rules.review_cycle(licence.first_issue_date, today)
                if cycle is not None:
                    licence_points_imported(licences=[(licence.pk, 3, cycle[0])], source="registry.demo")
        city.persons += len(persons)
        city.licences += len(licences)
        city.vehicles += len(vehicles)
        city.policies += len(policies)

    def population(self, city: DemoCity, count: int) -> None:
        rng = self.rng
        started = time.perf_counter()
        done = 0
        while done < count:
            n = min(self.batch_size, count - done)
            persons, licences, vehicles, policies = [], [], [], []
            for _ in range(n):
                male = rng.random() < 0.52
                birth = self.birth_date()
                person = self.new_person(name=self.name(male), id_number=self.id_number(birth, male),
                                         phone=self.phone(), address=self.address())
                persons.append(person)
                holder = rng.random() < 0.70
                if holder:
                    issued = self.random_classes(birth)
                    if issued is not None:
                        licences.append(self.licence_for(person, classes=issued[0], first_issue=issued[1]))
                if rng.random() < (0.75 if holder else 0.25):
                    r = rng.random()
                    owned = 1 if r < 0.82 else 2 if r < 0.97 else 3
                    if owned > 1:
                        self.edge["owners_of_2_or_more"] += 1
                    for _ in range(owned):
                        vehicle, vps = self.random_vehicle(person, birth)
                        vehicles.append(vehicle)
                        policies.extend(vps)
            self.write(persons, licences, vehicles, policies)
            done += n
            city.persons += len(persons)
            city.licences += len(licences)
            city.vehicles += len(vehicles)
            city.policies += len(policies)
            if self.out is not None:
                rate = done / max(time.perf_counter() - started, 1e-9)
                self.out.write(f"  {done:,}/{count:,} persons ({rate:,.0f}/s)\n")


# Field classes whose Python value is what the database stores (no pre_save, no conversion): the COPY path writes
# them as they are; every other field (encrypted values, their lookup hashes), a naive datetime and an auto_now
# date go through Django's own preparation.
_AS_IS = frozenset({models.IntegerField, models.PositiveIntegerField, models.PositiveSmallIntegerField,
                    models.SmallIntegerField, models.CharField, models.TextField, models.DateField,
                    models.BooleanField, models.ForeignKey, models.OneToOneField, models.DateTimeField})


def _insert(model: type[models.Model], objs: list, batch_size: int) -> None:
    """Insert ``objs`` and give them their primary keys. On PostgreSQL a Shenzhen-size city goes in with COPY (ids
    taken from the table's sequence first, one statement a batch): Django's bulk INSERT spends most of its time
    building the statement's parameters, which is why ``demo_city --persons 3780000`` takes minutes, not an hour.
    Elsewhere (SQLite) ``bulk_create``. Both write the same rows: every value is prepared as Django prepares it
    (``pre_save`` + ``get_db_prep_save``), except fields whose value is stored as it is."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=batch_size)
        return
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [f for f in meta.concrete_fields if f is not pk]
    plain = [type(f) in _AS_IS and not getattr(f, "auto_now", False) and not getattr(f, "auto_now_add", False)
             for f in fields]  # the exact classes: a subclass may prepare its value
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, pk.column, len(objs)])
        for obj, (value,) in zip(objs, cursor.fetchall(), strict=True):
            setattr(obj, pk.attname, value)
        columns = ", ".join(qn(c) for c in [pk.column] + [f.column for f in fields])
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no COPY
        with raw.copy(f"COPY {qn(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                row = [getattr(obj, pk.attname)]
                for field, as_is in zip(fields, plain, strict=True):
                    value = getattr(obj, field.attname) if as_is else None
                    if as_is and not (isinstance(value, dt.datetime) and value.tzinfo is None):
                        row.append(value.value if isinstance(value, enum.Enum) else value)
                    else:
                        row.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
                copy.write_row(row)
        for obj in objs:
            obj._state.adding = False
            obj._state.db = connection.alias


@contextmanager
def _large_page_cache(mebibytes: int = 256):
    """SQLite only: a bigger page cache for this connection while the city is written. With the default 2 MiB,
    one large transaction spills dirty pages of the (random-keyed) hash indexes to the WAL again and again and
    the rate halves by 100,000 persons. Pages are allocated only as needed; the old size is restored."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-mebibytes * 1024:d}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous):d}")


def generate_city(*, persons: int, seed: int = 2026, stdout: TextIO | None = None, today: dt.date | None = None,
                  batch_size: int = 2000, workers: int = 1) -> DemoCity:
    """Create ``persons`` persons (the showcase people included) with their licences, vehicles and policies.

    ``workers`` > 1 (PostgreSQL, empty registry, not inside a transaction; a benchmark's Shenzhen-size city): the
    showcase is committed first, then that many forked processes each write their share of the population in a
    transaction of their own, so the city is no longer all-or-nothing — a failed worker's share is missing and the
    call raises. Each worker draws from its own random stream, so the city differs from the one-process city of
    the same seed.
    Otherwise one transaction, one process."""
    if persons < 0:
        raise ValueError("persons must be >= 0")
    started = time.perf_counter()
    today = today or clock.today()
    city = DemoCity(seed=seed, today=today)
    parallel = (workers > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block
                and not Person.objects.exists())
    with _large_page_cache(), transaction.atomic():
        gen = _Generator(seed=seed, today=today, batch_size=batch_size, out=stdout)
        gen.showcase(city)
        if not parallel:
            gen.population(city, max(0, persons - city.persons))
    if parallel:
        _population_parallel(gen, city, max(0, persons - city.persons), workers)
    with transaction.atomic():
        city.edge_cases = dict(gen.edge)
        audit_record(actor=Actor.system("registry.demo_city"), action="registry.demo_city", object_type="registry.city",
                     object_id=seed, new={"persons": city.persons, "licences": city.licences,
                                          "vehicles": city.vehicles, "policies": city.policies, "today": today})
    city.seconds = time.perf_counter() - started
    return city


_forked: _Generator | None = None  # the parent's generator, inherited by the forked workers (never pickled)


def _population_part(share: int, shares: int, count: int) -> tuple[dict[str, int], dict[str, int]]:
    """One forked worker of ``_population_parallel``: its share of the persons, in one transaction of its own."""
    gen = _forked
    assert gen is not None
    connections.close_all()  # the parent's sockets are not this process's: open its own
    gen.as_worker(share, shares)
    part = DemoCity(seed=gen.seed, today=gen.today)
    with transaction.atomic():
        gen.population(part, count)
    connections.close_all()
    return ({"persons": part.persons, "licences": part.licences, "vehicles": part.vehicles,
             "policies": part.policies}, gen.edge)


def _population_parallel(gen: _Generator, city: DemoCity, count: int, workers: int) -> None:
    global _forked
    connections.close_all()  # nothing open is shared with the forked workers
    shares = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
    _forked = gen
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.starmap(_population_part, [(i, workers, n) for i, n in enumerate(shares)])
    finally:
        _forked = None
    for counts, edge in results:
        city.persons += counts["persons"]
        city.licences += counts["licences"]
        city.vehicles += counts["vehicles"]
        city.policies += counts["policies"]
        for key, value in edge.items():
            gen.edge[key] += value
