"""Pure rules of the workflow engine, testable alone: the application's life cycle (one state machine), form
validation against a declaration, reference numbers with their check digit, time limits in working days (and the
pause while an application is with the applicant), and recognising uploaded files by their bytes."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from stdnum import luhn

from jiaoguan.applications.catalogue import (
    LEVEL_OF,
    LEVELS,
    PERSONAL_TYPES,
    STATES,
    VERBS,
    FieldSpec,
    Service,
    date_bound,
    vehicle_kinds,
)
from jiaoguan.applications.labels import STATUS_EN, STATUS_ZH
from jiaoguan.applications.models import OPEN_STATES
from jiaoguan.core import clock, identifiers, workdays
from jiaoguan.core.errors import InvalidInput, Refusal
from jiaoguan.core.i18n import Bi as Text
from jiaoguan.core.states import StateMachine

MAX_VALUE_CHARS = 2000
DEFAULT_TEXT_MAX = {"text": 200, "textarea": 2000}
_TRUE = {"true", "1", "on", "yes", "y"}
_FALSE = {"false", "0", "off", "no", "n", ""}

Errors = dict[str, tuple[str, str]]


# --- The life cycle -------------------------------------------------------------------------------------------------
#
#     draft ──submit──► submitted ──accept──► under_review ──review──► reviewed ──approve──► approved ──revoke──► revoked
#       │                  │  └─refuse──► refused   │  └─approve/reject──►      └─reject──► rejected   (confirm: stays)
#       │                  └─send_back─┐            └─send_back─┐
#       │                              ▼                        ▼
#       │                        returned ──resubmit──► back where it was sent from
#       └─ withdraw (from draft and every open state) ──► withdrawn
#
# The staff verbs (catalogue.VERBS: what a declaration may use) and the applicant's own steps, as (from, to); the
# machine is their union. A service's declaration picks a subset of the staff verbs (catalogue.Workflow).

APPLICANT_STEPS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # with a fee to pay, a submission waits for it (awaiting_payment); paid, it goes to staff; unpaid by its
    # deadline, it lapses (the system's steps "fee_paid" and "lapse")
    "submit": (frozenset({"draft"}), frozenset({"submitted", "awaiting_payment"})),
    "fee_paid": (frozenset({"awaiting_payment"}), frozenset({"submitted", "approved"})),
    # approved with a fee due before the document is produced: waits for it like a submission does
    "fee_on_approval": (frozenset({"under_review", "reviewed"}), frozenset({"awaiting_payment"})),
    "lapse": (frozenset({"awaiting_payment"}), frozenset({"lapsed"})),
    "resubmit": (frozenset({"returned"}), frozenset({"submitted", "under_review", "reviewed"})),
    "withdraw": (frozenset({"draft", *OPEN_STATES}), frozenset({"withdrawn"})),
}
# A paid fee goes back (payments.payable_cancel: cancelled if unpaid, refunded if paid) when the application ends
# in one of these.
FEE_RETURNED_IN = frozenset({"refused", "rejected", "withdrawn", "revoked", "lapsed"})
STEPS = {**VERBS, **APPLICANT_STEPS}
# The applicant may change the answers and materials (a draft, or an application sent back for correction).
EDITABLE = ("draft", "returned")


def _table() -> dict[str, set[str]]:
    table: dict[str, set[str]] = {s: set() for s in STATES}
    for sources, targets in STEPS.values():
        for source in sources:
            table[source] |= targets
    return table


APPLICATION = StateMachine("applications.application", _table(), code="applications.state_changed",
                           what=("该申请", "The application"),
                           labels={s: (STATUS_ZH[s], STATUS_EN[s]) for s in STATES})


def step_allowed(step: str, status: str) -> bool:
    """May ``step`` (a staff verb or the applicant's submit/resubmit/withdraw) start from ``status``? (A step is
    one of the machine's ways into its target: ``APPLICATION.allows(status, to)`` holds for each of its sources.)"""
    return status in STEPS[step][0]


def editable(status: str) -> bool:
    """May the applicant change the answers and materials now?"""
    return status in EDITABLE


# --- Forms --------------------------------------------------------------------------------------------------------


def _unknown(names: list[str]) -> InvalidInput:
    listed = "、".join(names[:5])
    return InvalidInput("applications.unknown_field", f"表单中有本事项未声明的项目：{listed}",
                        f"The form has fields this service does not declare: {', '.join(names[:5])}",
                        fields={n: ("本事项没有此项目", "This service has no such field") for n in names[:20]})


def draft_values(service: Service, data: dict) -> dict:
    """What a draft may keep: declared fields only (an unknown name means a tampered form: refused), values as
    plain strings/numbers/booleans of bounded length, and a choice only among its choices. Formats are checked
    at submission, so a half-typed value is kept rather than lost."""
    if not isinstance(data, dict):
        raise InvalidInput("applications.bad_form", "表单数据格式不正确", "The form data is malformed", field="data")
    unknown = sorted(k for k in data if service.field(str(k)) is None)
    if unknown:
        raise _unknown(unknown)
    out: dict = {}
    errors: Errors = {}
    for name, value in data.items():
        spec = service.field(name)
        assert spec is not None  # unknown names were refused above
        if spec.type == "file":
            continue  # files are uploaded as materials, never carried in the form
        if value is None or isinstance(value, (bool, int, float)):
            out[name] = value
        elif isinstance(value, str):
            if len(value) > MAX_VALUE_CHARS:
                errors[name] = (f"内容过长（不超过{MAX_VALUE_CHARS}字）", f"Too long (at most {MAX_VALUE_CHARS} characters)")
                continue
            out[name] = value.strip()
        else:
            errors[name] = ("格式不正确", "Invalid value")
            continue
        if spec.type == "choice" and out[name] not in (None, "") and str(out[name]) not in spec.choice_values():
            errors[name] = ("所选项目不在可选范围内", "The chosen value is not one of the choices")
    if errors:
        raise InvalidInput("applications.bad_form", "表单中有不能保存的内容，请检查标出的项目",
                           "Some values cannot be saved; see the marked fields", fields=errors)
    return out


def _missing(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _clean_one(spec: FieldSpec, value, today: dt.date, vehicles: Sequence = (),
               options: Mapping[str, Sequence] | None = None):
    """The canonical value of one field, or raise InvalidInput(field=spec.name)."""
    name, t = spec.name, spec.type

    def bad(zh: str, en: str) -> InvalidInput:
        return InvalidInput("applications.field_invalid", zh, en, field=name)

    if t in ("text", "textarea"):
        text = str(value).strip()
        high = spec.max_length if spec.max_length is not None else DEFAULT_TEXT_MAX[t]
        if len(text) > high:
            raise bad(f"不能超过{high}个字", f"At most {high} characters")
        if spec.min_length is not None and len(text) < spec.min_length:
            raise bad(f"至少{spec.min_length}个字", f"At least {spec.min_length} characters")
        if spec.pattern and not re.fullmatch(spec.pattern, text):
            raise bad("格式不正确", "The format is not valid")
        return text
    if t == "number":
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise bad("请填写数字", "Enter a number") from None
        if not number.is_finite():
            raise bad("请填写数字", "Enter a number")
        if spec.integer and number != number.to_integral_value():
            raise bad("请填写整数", "Enter a whole number")
        if spec.min is not None and number < Decimal(str(spec.min)):
            raise bad(f"不能小于{spec.min}", f"At least {spec.min}")
        if spec.max is not None and number > Decimal(str(spec.max)):
            raise bad(f"不能大于{spec.max}", f"At most {spec.max}")
        return int(number) if spec.integer else float(number)
    if t == "date":
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise bad("请按“年-月-日”填写日期，例如2026-10-08", "Enter a date as YYYY-MM-DD, e.g. 2026-10-08") from None
        if spec.min is not None and day < date_bound(spec.min, today):
            low = date_bound(spec.min, today)
            raise bad(f"日期不能早于{low:%Y-%m-%d}", f"The date may not be before {low:%Y-%m-%d}")
        if spec.max is not None and day > date_bound(spec.max, today):
            high_day = date_bound(spec.max, today)
            raise bad(f"日期不能晚于{high_day:%Y-%m-%d}", f"The date may not be after {high_day:%Y-%m-%d}")
        return day.isoformat()
    if t == "choice":
        if str(value) not in spec.choice_values():
            raise bad("所选项目不在可选范围内", "The chosen value is not one of the choices")
        return str(value)
    if t == "boolean":
        text = str(value).strip().lower()
        if text not in _TRUE | _FALSE:
            raise bad("请选择是或否", "Choose yes or no")
        return text in _TRUE
    if t == "plate":
        return identifiers.validate_plate(str(value), field=name)
    if t == "own_vehicle":
        return own_vehicle_plate(spec, value, vehicles)
    if t == "own_record":
        offered = [o.value for o in (options or {}).get(name, ())]
        if str(value).strip() not in offered:
            raise bad("请从列表中选择您本人名下的记录", "Choose one of your own records from the list")
        return str(value).strip()
    if t == "id_number":
        return identifiers.validate_id_number(str(value), field=name, today=today)
    if t == "phone":
        return identifiers.validate_phone(str(value), field=name)
    if t == "bank_account":
        digits = "".join(str(value).split())
        if not (digits.isascii() and digits.isdigit() and 12 <= len(digits) <= 30):
            raise bad("银行账号须为12–30位数字", "A bank account number is 12–30 digits")
        return digits
    if t == "uscc":
        return identifiers.validate_uscc(str(value), field=name)
    if t == "vin":
        return identifiers.validate_vin(str(value), field=name)
    raise bad("不支持的项目类型", "Unsupported field type")  # pragma: no cover - the loader refuses unknown types


def form_clean(service: Service, data: dict, *, today: dt.date, vehicles: Sequence = (),
               options: Mapping[str, Sequence] | None = None) -> tuple[dict, Errors]:
    """Validate a complete form (at submission): (canonical values, field -> (zh, en) errors). File fields are
    checked against the uploaded materials by the caller. ``vehicles`` are the applicant's own vehicles (objects
    with ``plate`` and ``kind``: identity.selectors.account_vehicles), what an own_vehicle field may name;
    ``options`` the applicant's own records each own_record field offers (field name -> hooks.Option list)."""
    unknown = sorted(k for k in data if service.field(str(k)) is None)
    if unknown:
        raise _unknown(unknown)
    cleaned: dict = {}
    errors: Errors = {}
    for spec in service.fields:
        if spec.type == "file":
            continue
        value = data.get(spec.name)
        if _missing(value):
            if spec.required:
                errors[spec.name] = ("此项必填", "This field is required")
            continue
        if spec.type == "boolean" and spec.required and str(value).strip().lower() not in _TRUE:
            errors[spec.name] = ("请勾选此项", "Please tick this box")
            continue
        try:
            cleaned[spec.name] = _clean_one(spec, value, today, vehicles, options)
        except InvalidInput as exc:
            errors[spec.name] = exc.fields.get(spec.name, (exc.zh, exc.en))
    return cleaned, errors


def eligible_vehicles(spec: FieldSpec, vehicles: Sequence) -> list:
    """The applicant's vehicles an own_vehicle field offers: those of the kinds it declares (any kind when it
    declares none), in the order given."""
    return [v for v in vehicles if not spec.kinds or v.kind in spec.kinds]


def own_vehicle_plate(spec: FieldSpec, value, vehicles: Sequence) -> str:
    """An own_vehicle answer: the plate of one of the applicant's own vehicles of an accepted kind. A plate that
    is not the applicant's (another company's truck, a typed-in number) or of another kind is refused beside the
    field, in Chinese and English."""
    plate = identifiers.validate_plate(str(value), field=spec.name)
    mine = [v for v in vehicles if v.plate == plate]
    if not mine:
        raise InvalidInput("applications.not_own_vehicle", f"申请人名下没有号牌为{plate}的机动车，请从列表中选择",
                           f"No vehicle with plate {plate} is registered to the applicant; choose one from the list",
                           field=spec.name)
    if not eligible_vehicles(spec, mine):
        labels = vehicle_kinds()
        zh = "、".join(labels[k].zh if k in labels else k for k in spec.kinds)
        en = ", ".join((labels[k].en if k in labels else k).lower() for k in spec.kinds)
        raise InvalidInput("applications.vehicle_kind", f"{plate}不能办理本事项：须为{zh}",
                           f"{plate} cannot be used for this service: it must be a {en}", field=spec.name)
    return plate


def split_personal(service: Service, values: dict) -> tuple[dict, dict]:
    """(plain values, personal values): ID numbers and phones go to the encrypted column."""
    plain: dict[str, object] = {}
    personal: dict[str, object] = {}
    for name, value in values.items():
        spec = service.field(name)
        (personal if spec is not None and spec.type in PERSONAL_TYPES else plain)[name] = value
    return plain, personal


# --- Reference numbers ----------------------------------------------------------------------------------------


def luhn_digit(digits: str) -> str:
    """The Luhn check digit of a string of digits (python-stdnum's implementation)."""
    return luhn.calc_check_digit(digits)


def reference_make(day: dt.date, sequence: int) -> str:
    """YYYYMMDD + 6-digit sequence + check digit: 15 digits, e.g. 202610080000017."""
    if not 1 <= sequence <= 999_999:
        raise ValueError("the daily sequence is 1–999999")
    body = f"{day:%Y%m%d}{sequence:06d}"
    return body + luhn_digit(body)


def reference_valid(reference: str) -> bool:
    if not (isinstance(reference, str) and len(reference) == 15 and reference.isascii() and reference.isdigit()):
        return False
    try:
        dt.date(int(reference[:4]), int(reference[4:6]), int(reference[6:8]))
    except ValueError:
        return False
    return luhn_digit(reference[:14]) == reference[14]


# --- Time limits ---------------------------------------------------------------------------------------------------


def end_of_day(day: dt.date) -> dt.datetime:
    return clock.local_datetime(day, dt.time(23, 59, 59))


def due_date(start: dt.date, days: int) -> dt.date:
    """The last day of a time limit of ``days`` working days counted from ``start`` (the start day itself is not
    counted; 0 days = the start day if it is a working day, else the next one)."""
    return workdays.add_workdays(start, days)


def due_at_for(start: dt.datetime | dt.date, days: int) -> dt.datetime:
    """The moment a time limit ends: the end of its last working day (Asia/Shanghai)."""
    return end_of_day(due_date(start, days))


def workdays_left(now: dt.datetime, due_at: dt.datetime) -> int:
    """Working days after today up to the due day (0 when due today or overdue)."""
    return max(workdays.workdays_between(now, due_at), 0)


def due_soon_threshold(now: dt.datetime, days: int) -> dt.datetime:
    """Applications due at or before this moment are "due soon": within ``days`` working days from today."""
    return end_of_day(workdays.add_workdays(now, days))


# --- Files ---------------------------------------------------------------------------------------------------------

_MAGIC = (
    (b"%PDF-", "pdf", "application/pdf"),
    (b"\xff\xd8\xff", "jpeg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
)
EXTENSIONS = {"pdf": "pdf", "jpeg": "jpg", "png": "png"}


def sniff(content: bytes) -> tuple[str, str] | None:
    """(type, content type) recognised by the file's first bytes, never by its name; None if unknown."""
    for magic, ftype, ctype in _MAGIC:
        if content.startswith(magic):
            return ftype, ctype
    return None


# --- Claims (one member of staff at a time): what the service enforces and the console offers ----------------------


def actions_workable(service: Service, *, status: str, post_review_pending: bool) -> list[str]:
    """The verbs that could be taken on an application in ``status`` (confirm/revoke only while an approve-first
    decision waits for its review, approve/reject not then)."""
    return [v for v, a in service.workflow.actions.items()
            if status in a.from_states and (v not in ("confirm", "revoke") or post_review_pending)
            and not (v in ("approve", "reject") and post_review_pending)]


# --- Separation of duties: one rule for every step ------------------------------------------------------------------
#
# The levels are catalogue.LEVELS (受理 accept, 审核 review, 审批 approve). Whoever performed one level of an
# application may not perform another level of it, unless the service's declaration names that pair in
# ``workflow.same_person`` (a payout service may not). ``performed`` maps each level to the member of staff who
# performed it on this application (Application.accepted_by / reviewed_by / approved_by; None: nobody, or the
# system).

LEVEL_TEXTS: dict[str, tuple[str, str]] = {"accept": ("受理", "acceptance"), "review": ("审核", "review"),
                                           "approve": ("审批", "approval")}
SEPARATION_OF_DUTIES = "applications.separation_of_duties"


def duty_conflict(service: Service, verb: str, *, actor_id: int | None,
                  performed: Mapping[str, int | None]) -> str | None:
    """The level this member of staff already performed on the application that ``verb``'s level must be kept
    apart from (so they may not take ``verb``), or None. Verbs of no level (send_back) and the system are free."""
    level = LEVEL_OF.get(verb)
    if level is None or actor_id is None:
        return None
    for done in LEVELS:
        if performed.get(done) == actor_id and not service.workflow.may_combine(done, level):
            return done
    return None


def duty_refusal(done: str, verb: str) -> Refusal:
    """What the engine says to someone who performed level ``done`` and tries ``verb`` (of another level)."""
    level = LEVEL_OF[verb]
    first, second = sorted((done, level), key=list(LEVELS).index)
    zh_done, en_done = LEVEL_TEXTS[done]
    (zh1, en1), (zh2, en2) = LEVEL_TEXTS[first], LEVEL_TEXTS[second]
    zh_level, en_level = LEVEL_TEXTS[level]
    return Refusal(SEPARATION_OF_DUTIES,
                   f"您已办理该申请的{zh_done}环节。{zh1}与{zh2}须由不同人员办理，请交由其他人员{zh_level}",
                   f"You did the {en_done} of this application. {en1.capitalize()} and {en2} must be done by "
                   f"different people, so someone else has to do the {en_level}")


def action_block(service: Service, verb: str, *, status: str, post_review_pending: bool, role: str,
                 actor_id: int | None, applicant_id: int | None, holder_id: int | None,
                 performed: Mapping[str, int | None]) -> str | None:
    """Why a member of staff may not take ``verb`` on an application now, or None — the checks of
    services.application_act, in its order: the service has no such step ("applications.action_not_offered"),
    the role may not take it ("core.forbidden"), it is their own application ("applications.own_application"),
    the state does not allow it ("applications.state_changed"), they performed another level of it and the
    service keeps the two apart ("applications.separation_of_duties": duty_conflict), someone else holds the
    claim ("applications.claimed")."""
    spec = service.action(verb)
    if spec is None:
        return "applications.action_not_offered"
    if not (role == "system" or role in spec.allowed_roles()):
        return "core.forbidden"
    if actor_id is not None and actor_id == applicant_id:
        return "applications.own_application"
    if (status not in spec.from_states or not APPLICATION.allows(status, spec.to)
            or verb not in actions_workable(service, status=status, post_review_pending=post_review_pending)):
        return "applications.state_changed"
    if duty_conflict(service, verb, actor_id=actor_id, performed=performed) is not None:
        return SEPARATION_OF_DUTIES
    if holder_id is not None and holder_id != actor_id:
        return "applications.claimed"
    return None


CLAIM_TEXTS = {
    "applications.state_changed": ("该申请当前状态无需办理", "The application is in a state with nothing to do"),
    "core.forbidden": ("该申请当前的环节不属于您的岗位", "The application's current step is not for your role"),
    "applications.own_application": ("不能以工作人员身份办理本人提交的申请",
                                     "You cannot act as staff on an application you made yourself"),
    "applications.claimed": ("该申请正由其他人员办理", "Someone else is working on this application"),
    "applications.force_release_role": ("只有审批人员可以强制释放他人的认领",
                                        "Only an approver can release someone else's claim"),
}


def claim_block(*, workable_roles: list[frozenset[str]], role: str, own: bool, holder_id: int | None,
                actor_id: int | None) -> str | None:
    """Why a member of staff may not claim the application now, or None. ``workable_roles``: for each verb
    workable in its state, the roles that may take it. Claiming one's own claim again changes nothing
    ("applications.claimed_by_you": no button, the service returns the application as it is)."""
    if not workable_roles:
        return "applications.state_changed"
    if not any(role == "system" or role in roles for roles in workable_roles):
        return "core.forbidden"
    if own:
        return "applications.own_application"
    if holder_id is not None:
        return "applications.claimed_by_you" if holder_id == actor_id else "applications.claimed"
    return None


def release_block(*, holder_id: int | None, actor_id: int | None, force: bool, may_force: bool) -> str | None:
    """Why a claim may not be released now, or None: the holder lets go of their own; someone else's only with
    ``force`` by a supervisor (``may_force``: the application.approve permission). Nothing claimed:
    "applications.not_claimed" (no button; the service returns the application as it is)."""
    if holder_id is None:
        return "applications.not_claimed"
    if holder_id != actor_id and not (force and may_force):
        return "applications.claimed" if not force else "applications.force_release_role"
    return None


# --- Fees (规费) ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeeLine:
    """One fee of one application: charged (``exempt`` None) or exempt with the reason."""

    code: str
    name: Text
    amount_fen: int
    exempt: Text | None = None
    at: str = "submission"

    @property
    def charged_fen(self) -> int:
        return 0 if self.exempt is not None else self.amount_fen

    def as_json(self) -> dict:
        return {"code": self.code, "at": self.at, "zh": self.name.zh, "en": self.name.en,
                "amount_fen": self.amount_fen,
                "charged_fen": self.charged_fen,
                "exempt_zh": self.exempt.zh if self.exempt else "", "exempt_en": self.exempt.en if self.exempt else ""}


def fee_lines(service: Service, data: Mapping, at: str = "submission") -> list[FeeLine]:
    """The fees an application of ``service`` with these answers owes at ``at`` ("submission" or "approval"):
    each declared fee of that phase whose ``when`` holds, exempt (amount kept, charged 0) when one of its item's
    exemptions holds for the form."""
    lines: list[FeeLine] = []
    for use in service.fees:
        if use.at != at or not use.when.holds(dict(data)):
            continue
        why = next((e.reason for e in use.item.exempt if e.when.holds(dict(data))), None)
        lines.append(FeeLine(use.item.code, use.item.name, use.item.amount_fen, why, at))
    return lines


def fee_total(lines: Sequence[FeeLine]) -> int:
    """What is charged (exempt lines count 0), in fen."""
    return sum(line.charged_fen for line in lines)


def fee_total_of(stored: Sequence[Mapping], at: str | None = None) -> int:
    """The same total from an application's stored ``fee_lines`` (of one phase, or all)."""
    return sum(int(line.get("charged_fen") or 0) for line in stored or ()
               if at is None or line.get("at", "submission") == at)


def fee_source_id(application_id: int, at: str) -> str:
    """The payable's source id of an application's fees of one phase (payments: one item per source)."""
    return str(application_id) if at == "submission" else f"{application_id}:{at}"


def fee_source_parse(source_id: str) -> tuple[int, str] | None:
    """(application id, phase) of a fee payable's source id; None if it is not one."""
    head, _, phase = str(source_id).partition(":")
    if not head.isdigit() or (phase and phase != "approval"):
        return None
    return int(head), phase or "submission"
