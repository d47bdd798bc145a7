"""Pure rules of the violations app (DOMAIN §4): no database, no clock.

Penalty-decision numbers (决定书编号)
    15 digits: the 6-digit agency code, an 8-digit sequence per agency, and a check digit computed with the
    Damm algorithm over the first 14 digits (``stdnum.damm``: a totally anti-symmetric quasigroup of order 10).
    Damm detects every single-digit substitution and every transposition of adjacent digits, which is what a
    number read out over the phone or typed from paper gets wrong (ISO 7064 MOD 11-10 was tried first: it misses
    some adjacent transpositions, e.g. ...0109 / ...0190).

Online handling (网上处理)
    ``online_refusals`` lists every reason a violation may not be handled online, each with where to go instead.

First-violation waivers (首违免罚 / 首违警告)
    ``waiver_for`` checks the configured rule sets in order and returns the first that applies, or None. "First"
    is by occurrence *time*, not by date: a vehicle's violations are ordered by ``occurrence_key`` (the time it
    happened, then — for two recorded with the identical timestamp — the record's id, i.e. the one recorded first
    comes first), and every violation before this one in that order counts as a prior violation, a same-day one
    at 09:00 before one at 10:00 included. So of three parking violations at 09:00, 10:00 and 11:00 only the
    09:00 one can be waived, whatever order the cameras upload them in (a late upload of an earlier violation
    takes the waiver back from the later one: ``services.violation_record``).

Device scopes (设备授权范围)
    ``device_scope_refusal`` says whether a device's key may call an endpoint, record a code, at a place.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from stdnum import damm

from jiaoguan.core.errors import Refusal
from jiaoguan.core.states import StateMachine
from jiaoguan.registry.rules import FULL_SCORE

# --- Decision numbers --------------------------------------------------------------------------------------------


def decision_check_digit(body14: str) -> str:
    if len(body14) != 14 or not body14.isdigit():
        raise ValueError("a decision number body is 14 digits")
    return damm.calc_check_digit(body14)


def make_decision_number(agency_code: str, sequence: int) -> str:
    if len(agency_code) != 6 or not agency_code.isdigit():
        raise ValueError("the agency code is 6 digits")
    if not 0 < sequence < 10**8:
        raise ValueError("the sequence is 1–99999999")
    body = f"{agency_code}{sequence:08d}"
    return body + decision_check_digit(body)


def decision_number_valid(number: str) -> bool:
    return (isinstance(number, str) and len(number) == 15 and number.isascii() and number.isdigit()
            and damm.is_valid(number))


# --- Online handling ------------------------------------------------------------------------------------------

COUNTER_ZH = "请携带驾驶证、行驶证到交警大队违法处理窗口办理"
COUNTER_EN = "Please take your driving licence and vehicle licence to a traffic police violation-handling counter"


@dataclass(frozen=True)
class OnlineFacts:
    source: str
    fine_fen: int
    points: int
    code_online_allowed: bool
    cycle_total: int            # the licence's points in the current cycle before this violation
    holds_vehicle: bool         # own vehicle, or bound with the owner's consent
    after_binding: bool         # for a bound non-owner: the violation happened after the binding
    licence_valid: bool
    has_licence: bool = True    # the citizen holds a licence in this city's registry
    code: str = ""              # the violation's code (the city may cap its own codes differently)


@dataclass(frozen=True)
class OnlineLimits:
    sources: tuple[str, ...] = ("device",)
    max_fine_fen: int = 20000
    max_points: int = 6
    full_score: int = FULL_SCORE
    max_fine_by_code: Mapping[str, int] = field(default_factory=dict)  # the city's own caps for its codes

    def fine_cap(self, code: str) -> int:
        return int(self.max_fine_by_code.get(code, self.max_fine_fen))


@dataclass(frozen=True)
class Escalation:
    """A fine that rises with repetition: the ``nth`` violation of a code by one licence within ``within_days``
    before it (the earlier ones decided, not revoked) is fined ``fine_fen``."""

    nth: int
    within_days: int
    fine_fen: int


def escalated_fine(*, base_fen: int, earlier: int, escalation: Escalation | None) -> int:
    """The fine of a violation with ``earlier`` violations of its code by the same licence within the window."""
    if escalation is None or earlier + 1 < escalation.nth:
        return base_fen
    return max(base_fen, escalation.fine_fen)


def online_refusals(facts: OnlineFacts, limits: OnlineLimits) -> list[Refusal]:
    """Every reason this violation may not be handled online (empty: it may)."""
    out: list[Refusal] = []
    if not facts.holds_vehicle:
        out.append(Refusal("violations.not_your_vehicle", "该车辆不是您本人或已绑定的车辆",
                           "This is not your own vehicle or a vehicle bound to your account"))
    elif not facts.after_binding:
        out.append(Refusal("violations.before_binding", "该违法发生在您绑定此车辆之前，请由机动车所有人处理",
                           "This violation happened before you bound the vehicle; the owner must handle it"))
    if not facts.has_licence:
        out.append(Refusal("violations.no_licence",
                           "没有查到您本人的驾驶证，记分须记入驾驶人本人的驾驶证，请到交警大队违法处理窗口办理",
                           "No driving licence of yours was found; the points must go on the driver's own licence, "
                           "so please go to a traffic police violation-handling counter"))
    elif not facts.licence_valid:
        out.append(Refusal("violations.licence_invalid", f"您的驾驶证状态不正常，不能网上处理。{COUNTER_ZH}",
                           f"Your driving licence is not valid, so it cannot be handled online. {COUNTER_EN}"))
    if facts.source not in limits.sources:
        out.append(Refusal("violations.not_camera", f"现场查处的违法不能网上处理。{COUNTER_ZH}",
                           f"On-site violations cannot be handled online. {COUNTER_EN}"))
    if not facts.code_online_allowed:
        out.append(Refusal("violations.code_counter_only", f"该违法行为不能网上处理。{COUNTER_ZH}",
                           f"This kind of violation cannot be handled online. {COUNTER_EN}"))
    cap = limits.fine_cap(facts.code)
    if facts.fine_fen > cap:
        out.append(Refusal("violations.fine_too_high",
                           f"罚款超过{cap // 100}元，不能网上处理。{COUNTER_ZH}",
                           f"The fine is over ¥{cap // 100}, so it cannot be handled online. {COUNTER_EN}"))
    if facts.points > limits.max_points:
        out.append(Refusal("violations.points_too_high",
                           f"记分超过{limits.max_points}分，不能网上处理。{COUNTER_ZH}",
                           f"More than {limits.max_points} points, so it cannot be handled online. {COUNTER_EN}"))
    if facts.cycle_total + facts.points >= limits.full_score:
        out.append(Refusal("violations.cycle_full",
                           f"处理后本记分周期累积记分将达到{limits.full_score}分，不能网上处理。{COUNTER_ZH}",
                           f"Handling it would bring this scoring cycle to {limits.full_score} points, so it cannot "
                           f"be handled online. {COUNTER_EN}"))
    return out


# --- Disputes -------------------------------------------------------------------------------------------------

# --- The violation's status life cycle ------------------------------------------------------------------------
# recorded ─handle─▶ handled ─pay─▶ paid; recorded ─waive─▶ waived (a warning); recorded / handled / paid
# ─dispute─▶ disputed ─rejected─▶ back where it was; anything but revoked ─revoke (or a dispute upheld)─▶ revoked.

RECORDED, HANDLED, PAID, WAIVED, DISPUTED, REVOKED = "recorded", "handled", "paid", "waived", "disputed", "revoked"


def _status_label(status: str):
    from jiaoguan.violations.models import Violation  # rules import no models at load time (pure, no database)

    return Violation.Status(status).label


VIOLATION_TRANSITIONS = StateMachine("violations.violation", {
    RECORDED: {HANDLED, WAIVED, DISPUTED, REVOKED},
    HANDLED: {PAID, DISPUTED, REVOKED},
    PAID: {DISPUTED, REVOKED},
    # waived ─unwaive─▶ recorded: an earlier violation of the vehicle, uploaded late, shows this one was not the
    # first (services._unwaive, by the system only: the fine and points come back, the citizen is told)
    WAIVED: {RECORDED, REVOKED},
    DISPUTED: {RECORDED, HANDLED, PAID, REVOKED},
    REVOKED: set(),
}, code="violations.status", what=("违法记录", "The violation"), labels=_status_label)
# 处理 (online or at a counter) takes only an open violation: a disputed one goes back to handled by the review
HANDLE_FROM = frozenset({RECORDED})
# back to recorded from waived only by taking the waiver back (a dispute rejected returns to recorded too)
UNWAIVE_FROM = frozenset({WAIVED})



# --- First-violation waivers --------------------------------------------------------------------------------------


def months_between(earlier: dt.date, later: dt.date) -> int:
    """Whole months from ``earlier`` to ``later`` (negative when later is before earlier)."""
    months = (later.year - earlier.year) * 12 + (later.month - earlier.month)
    if later.day < earlier.day:
        months -= 1
    return months


@dataclass(frozen=True)
class WaiverFacts:
    code_on_first_list: bool
    points: int
    fine_fen: int
    accident: bool
    congestion: bool
    in_city: bool                    # the violation happened in the city
    vehicle_local: bool              # registered in the city
    vehicle_since: dt.date | None    # registration or last change date (None: unknown vehicle)
    occurred_on: dt.date             # the local (Asia/Shanghai) date it happened
    # the local dates of the vehicle's other violations (in the city) that come before this one in occurrence
    # order (``occurrence_key``: time, then id) — a same-day earlier one included; a date after ``occurred_on``
    # is not before it and is ignored
    prior_violation_dates: tuple[dt.date, ...] = field(default=())


@dataclass(frozen=True)
class WaiverParams:
    rules: tuple[str, ...] = ("shenzhen", "national")
    shenzhen_max_fine_fen: int = 50000
    shenzhen_clean_months: int = 24
    shenzhen_vehicle_min_months: int = 24
    national_clean_months: int = 6


@dataclass(frozen=True)
class Waiver:
    rule: str
    zh: str
    en: str


WAIVER_LABELS = {
    "shenzhen": ("深圳经济特区道路交通安全违法行为处罚条例第三十五条首违免罚",
                 "Shenzhen first-violation waiver (SEZ traffic penalty regulations, art. 35)"),
    "national": ("首违警告（轻微违法行为，予以警告，不罚款不记分）",
                 "National first-violation warning: a minor violation, warning only, no fine or points"),
}


def occurrence_key(occurred_at: dt.datetime, pk: int) -> tuple[dt.datetime, int]:
    """The order of a vehicle's violations for "first": the time it happened (an aware datetime: the instant,
    whatever the zone), then the id — of two with the identical timestamp the one recorded first is first. A
    deterministic total order, so exactly one of them can be the first."""
    return (occurred_at, pk)


def precedes(a: tuple[dt.datetime, int], b: tuple[dt.datetime, int]) -> bool:
    """Does the violation with occurrence key ``a`` come before the one with key ``b``?"""
    return a < b


def _clean_before(dates: tuple[dt.date, ...], occurred_on: dt.date, months: int) -> bool:
    """No prior violation within ``months`` before. Every date given is of a violation that comes before this one
    (the caller orders by ``occurrence_key``), so an earlier one on the same day counts (0 months before); the
    bug this replaces compared dates (``d < occurred_on``) and let every same-day repeat be "first"."""
    return not any(d <= occurred_on and months_between(d, occurred_on) < months for d in dates)


def shenzhen_failures(f: WaiverFacts, p: WaiverParams) -> list[str]:
    """The conditions of Shenzhen's waiver that do not hold (empty: it applies). All six must hold."""
    out = []
    if not f.in_city:
        out.append("not_in_city")
    if not f.vehicle_local:
        out.append("vehicle_not_local")
    if f.accident:
        out.append("accident")
    if not _clean_before(f.prior_violation_dates, f.occurred_on, p.shenzhen_clean_months):
        out.append("prior_violation")
    if f.points != 0 or f.fine_fen <= 0 or f.fine_fen > p.shenzhen_max_fine_fen:
        out.append("not_fine_only_within_limit")
    if f.vehicle_since is None or months_between(f.vehicle_since, f.occurred_on) < p.shenzhen_vehicle_min_months:
        out.append("vehicle_too_new")
    return out


def national_failures(f: WaiverFacts, p: WaiverParams) -> list[str]:
    out = []
    if not f.code_on_first_list:
        out.append("not_on_list")
    if f.accident or f.congestion:
        out.append("accident_or_congestion")
    if not _clean_before(f.prior_violation_dates, f.occurred_on, p.national_clean_months):
        out.append("prior_violation")
    return out


_CHECKS = {"shenzhen": shenzhen_failures, "national": national_failures}

# What each failed condition means, for the page that does not offer the waiver (zh, en).
FAILURE_TEXTS = {
    "not_in_city": ("违法不是在本市发生的", "it did not happen in this city"),
    "vehicle_not_local": ("车辆不是本市登记的车辆", "the vehicle is not registered in this city"),
    "accident": ("违法造成了交通事故", "it caused a traffic accident"),
    "accident_or_congestion": ("违法造成了交通事故或交通拥堵", "it caused a traffic accident or congestion"),
    "prior_violation": ("此前规定期限内该车已有其他违法记录", "the vehicle has another violation in the period before it"),
    "not_fine_only_within_limit": ("仅适用于只处罚款（不超过规定金额）、不记分的违法，该违法记分或罚款超限",
                                   "it applies only to fine-only violations (no points, fine within the limit)"),
    "vehicle_too_new": ("车辆注册或变更登记未满规定期限", "the vehicle was registered or changed too recently"),
    "not_on_list": ("该违法行为不在全国首违警告清单内", "this kind of violation is not on the national first-violation list"),
}
WAIVER_SHORT = {"shenzhen": ("本市首违免罚", "The city's first-violation waiver"),
                "national": ("全国首违警告", "The national first-violation warning")}
NOT_OPEN = Refusal("violations.not_open", "该违法已处理或已结案，不能申请首违免罚",
                   "This violation is no longer open: a waiver cannot be requested")


@dataclass(frozen=True)
class WaiverOffer:
    """Whether the first-violation waiver may be requested, and if not, why (one line per rule set)."""

    waiver: Waiver | None
    refusals: tuple[Refusal, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.waiver is not None


def waiver_offer(f: WaiverFacts | None, p: WaiverParams, *, open_: bool = True) -> WaiverOffer:
    """The waiver ``waiver_for`` gives, or every reason each configured rule set does not apply. ``open_``:
    the violation is still unhandled (a handled, paid or disputed one cannot be waived)."""
    if not open_ or f is None:
        return WaiverOffer(None, (NOT_OPEN,))
    waiver = waiver_for(f, p)
    if waiver is not None:
        return WaiverOffer(waiver)
    refusals = []
    for rule in p.rules:
        check = _CHECKS.get(rule)
        if check is None:
            continue
        zh_rule, en_rule = WAIVER_SHORT.get(rule, (rule, rule))
        texts = [FAILURE_TEXTS.get(code, (code, code)) for code in check(f, p)]
        refusals.append(Refusal(f"violations.no_waiver.{rule}", f"{zh_rule}不适用：" + "；".join(t[0] for t in texts),
                                f"{en_rule} does not apply: " + "; ".join(t[1] for t in texts)))
    if not refusals:
        refusals.append(Refusal("violations.no_waiver", "本市目前未实行首违免罚", "No first-violation waiver is in force"))
    return WaiverOffer(None, tuple(refusals))


def waiver_for(f: WaiverFacts, p: WaiverParams) -> Waiver | None:
    for rule in p.rules:
        check = _CHECKS.get(rule)
        if check is not None and not check(f, p):
            zh, en = WAIVER_LABELS[rule]
            return Waiver(rule, zh, en)
    return None


def waived_apart(earlier: dt.date, later: dt.date, rule: str, p: WaiverParams) -> bool:
    """The regulation's "at most one waiver per window": a violation waived under ``rule`` on ``later`` may follow
    another violation of the vehicle (waived or not) on ``earlier`` only if that is at least the rule's clean
    period before (Shenzhen 24 months, national 6). Used by the property tests over arrival orders."""
    months = {"shenzhen": p.shenzhen_clean_months, "national": p.national_clean_months}.get(rule, 0)
    return months_between(earlier, later) >= months


# --- Device scopes ---------------------------------------------------------------------------------------------

ENDPOINT_SINGLE = "violations.single"        # POST /api/v1/devices/violations
ENDPOINT_BATCH = "violations.batch"          # POST /api/v1/devices/violations/batch
ENDPOINT_CHECKPOINT = "eastern.checkpoint"   # POST /api/v1/eastern/checkpoint
ENDPOINTS = {
    ENDPOINT_SINGLE: ("违法单条上传接口", "the single-violation upload"),
    ENDPOINT_BATCH: ("违法批量上传接口", "the batch violation upload"),
    ENDPOINT_CHECKPOINT: ("东部景区卡口接口", "the eastern area checkpoint"),
}
SCOPE_CODE = "violations.device_scope"


@dataclass(frozen=True)
class DeviceScope:
    """What a device's key may do: call these endpoints, record these violation codes, at places in this area
    (辖区: a place name every violation's place must begin with, after the city's name; "" the whole city)."""

    endpoints: frozenset[str]
    codes: frozenset[str]
    area: str = ""


def place_in_area(place: str, area: str, city_names: tuple[str, ...] = ()) -> bool:
    """Does ``place`` lie in ``area``: it begins with the area's name, possibly after one of the city's names
    ("深圳市福田区深南大道" and "福田区深南大道" are in 福田区; "南山区…福田区界" is not). An empty area is the city."""
    area = (area or "").strip()
    if not area:
        return True
    place = "".join((place or "").split())
    for name in sorted(city_names, key=len, reverse=True):
        if name and place.startswith(name):
            place = place[len(name):]
            break
    return place.startswith(area)


def device_scope_refusal(scope: DeviceScope, *, endpoint: str | None = None, code: str | None = None,
                         place: str | None = None, city_names: tuple[str, ...] = ()) -> Refusal | None:
    """Why this device may not do this (a 403 ``violations.device_scope``), or None when it may."""
    if endpoint is not None and endpoint not in scope.endpoints:
        zh, en = ENDPOINTS.get(endpoint, (endpoint, endpoint))
        return Refusal(SCOPE_CODE, f"该设备无权使用{zh}", f"This device is not authorised to use {en}")
    if code is not None and code not in scope.codes:
        return Refusal(SCOPE_CODE, f"该设备无权上传违法代码{code}的违法记录",
                       f"This device is not authorised to record violations of code {code}")
    if place is not None and not place_in_area(place, scope.area, city_names):
        return Refusal(SCOPE_CODE, f"违法地点“{place}”不在该设备的辖区（{scope.area}）内",
                       f"The place “{place}” is outside this device's area ({scope.area})")
    return None


# --- Detentions (扣留机动车 / 扣留驾驶证) and their return (放车还证) ---------------------------------------------------
# held ─release─▶ released (放车还证: every violation it was taken for settled, the licence returnable);
# held ─cancel─▶ cancelled (taken wrongly, or the case closed another way). Both ends are final. The release is
# decided by rules only (``release_refusals``), so it is one step: the online request is approved at once when the
# rules hold (applications catalogue ``detention_release``: auto-approval), and no "requested" status would ever be
# stored in between.

HELD, RELEASED, CANCELLED = "held", "released", "cancelled"
DETENTION_VEHICLE, DETENTION_LICENCE = "vehicle", "licence"


def _detention_label(status: str):
    from jiaoguan.violations.models import Detention  # rules import no models at load time (pure, no database)

    return Detention.Status(status).label


DETENTION = StateMachine("violations.detention", {
    HELD: {RELEASED, CANCELLED},
    RELEASED: set(),
    CANCELLED: set(),
}, code="violations.detention_status", what=("该扣留记录", "The detention"), labels=_detention_label)

# A violation no longer stands in the way of a return when it is paid, waived (a warning: nothing to pay),
# handled with no fine (a warning decision) or revoked (void: nothing to handle). Recorded (not handled), handled
# with the fine unpaid, or under dispute (it may still fail): not yet.
VIOLATION_CLEARED = frozenset({PAID, WAIVED, REVOKED})
# A licence that is suspended (暂扣/满分: study and 科目一 first), revoked (吊销) or cancelled (注销) is not handed back
LICENCE_NOT_RETURNABLE = {
    "suspended": ("驾驶证处于暂扣或满分状态，须先完成满分学习并通过科目一考试，方可发还",
                  "The licence is suspended (a full score or a suspension): it is returned only after the full-score "
                  "study and the theory test (科目一)"),
    "revoked": ("驾驶证已被吊销，不予发还", "The licence has been revoked: it is not returned"),
    "cancelled": ("驾驶证已注销，不予发还", "The licence has been cancelled: it is not returned"),
}


@dataclass(frozen=True)
class DetainedViolation:
    """What the return rule needs to know of one violation a detention was taken for."""

    pk: int
    status: str
    fine_fen: int  # the decision's fine (0: a warning), or the recorded fine when not yet decided
    description_zh: str = ""
    description_en: str = ""


def violation_cleared(v: DetainedViolation) -> bool:
    return v.status in VIOLATION_CLEARED or (v.status == HANDLED and v.fine_fen == 0)


def release_refusals(*, status: str, kind: str, violations: tuple[DetainedViolation, ...],
                     licence_status: str | None) -> list[Refusal]:
    """Every reason this detention may not be returned now (empty: it may). ``licence_status``: the licence's
    effective status today (registry), for a detained licence; ignored for a vehicle."""
    out: list[Refusal] = []
    if status != HELD:
        zh, en = DETENTION.label(status)
        out.append(Refusal("violations.detention_not_held", f"该扣留记录当前状态为“{zh}”，无需办理放车还证",
                           f"The detention is “{en}”: there is nothing to return"))
        return out
    for v in sorted(violations, key=lambda x: x.pk):
        if violation_cleared(v):
            continue
        what_zh = f"（{v.description_zh}）" if v.description_zh else ""
        what_en = f" ({v.description_en})" if v.description_en else ""
        if v.status == RECORDED:
            out.append(Refusal("violations.detention_unhandled", f"违法记录{v.pk}{what_zh}尚未处理，请先处理",
                               f"Violation {v.pk}{what_en} is not handled yet: handle it first"))
        elif v.status == HANDLED:
            out.append(Refusal("violations.detention_unpaid", f"违法记录{v.pk}{what_zh}的罚款尚未缴纳，请先缴款",
                               f"The fine of violation {v.pk}{what_en} is unpaid: pay it first"))
        else:  # disputed
            out.append(Refusal("violations.detention_disputed", f"违法记录{v.pk}{what_zh}正在申诉，申诉审核结束后方可办理",
                               f"Violation {v.pk}{what_en} is under dispute: wait for the review"))
    if kind == DETENTION_LICENCE:
        if licence_status is None:
            out.append(Refusal("violations.detention_no_licence", "未查询到该驾驶证档案",
                               "The detained licence is not on record"))
        elif licence_status in LICENCE_NOT_RETURNABLE:
            zh, en = LICENCE_NOT_RETURNABLE[licence_status]
            out.append(Refusal(f"violations.detention_licence_{licence_status}", zh, en))
    return out
