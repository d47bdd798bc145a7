"""外地车每月1天通行证 (non-local car monthly pass, DOMAIN §6): a car not registered locally may use the
restricted hours (weekdays 7:00–9:00 and 17:30–19:30, as data in catalogue/nonlocal_pass.toml) on one day per
calendar month, for a date from tomorrow to the end of next month. Auto-approved when eligible.

Once a month per plate, even when two applications for the same plate and month are submitted at the same
moment: the rule takes a transaction-scoped lock on (plate, month) before it looks (PostgreSQL advisory lock;
SQLite's BEGIN IMMEDIATE already serialises writers), so the second submission sees the first and is refused.
"""
from __future__ import annotations

from jiaoguan.applications import selectors
from jiaoguan.applications.hooks import RuleContext, eligibility_rule, output
from jiaoguan.applications.plugins.service_common import (
    form_date,
    issue_credential,
    revoke_credential,
    window_ok,
)
from jiaoguan.core import workdays
from jiaoguan.core.errors import DomainError, Refusal
from jiaoguan.core.locks import in_transaction, lock_keys

SERVICE = "nonlocal_pass"
COUNTED_STATES = ("submitted", "returned", "under_review", "reviewed", "approved")


@eligibility_rule("nonlocal_pass.non_local")
def non_local(ctx: RuleContext) -> list[Refusal]:
    """The plate is not a local one (params ``local_prefixes``, default ["粤B"])."""
    plate = str(ctx.data.get("plate") or "")
    prefixes = list(ctx.params.get("local_prefixes") or ["粤B"])
    if any(plate.startswith(p) for p in prefixes):
        return [Refusal("nonlocal.local_plate", f"{plate}为本市号牌，无需办理外地车通行证",
                        f"{plate} is a local plate; local cars need no non-local pass")]
    return []


@eligibility_rule("nonlocal_pass.restricted_day")
def restricted_day(ctx: RuleContext) -> list[Refusal]:
    """The chosen day is one on which the restriction applies (a working day of the core.workdays calendar)."""
    day = form_date(ctx.data, "travel_date")
    if day is not None and not workdays.is_workday(day):
        return [Refusal("nonlocal.not_restricted_day", f"{day:%Y-%m-%d}不是工作日，当天不限行，无需办理",
                        f"{day:%Y-%m-%d} is not a working day: there is no restriction that day, so no pass is needed")]
    return []


def _lock(plate: str, month: str) -> None:
    """Serialise submissions for one plate and month until the transaction ends (an advisory lock on PostgreSQL;
    SQLite's IMMEDIATE transactions already let one writer in at a time). A check without submitting (the
    "check" page, ``selectors.submission_check``) runs outside a transaction and writes nothing: no lock."""
    if in_transaction():
        lock_keys([f"{SERVICE}:{plate}:{month}"])


@eligibility_rule("nonlocal_pass.once_a_month")
def once_a_month(ctx: RuleContext) -> list[Refusal]:
    """One pass per plate per calendar month (any applicant): an application submitted, being handled or
    approved for the same plate and month refuses another."""
    plate, day = str(ctx.data.get("plate") or ""), form_date(ctx.data, "travel_date")
    if not plate or day is None:
        return []
    month = f"{day:%Y-%m}"
    _lock(plate, month)
    if selectors.plate_month_taken(service_code=ctx.service.code, statuses=COUNTED_STATES, plate=plate,
                                   month=month, besides=ctx.application):
        return [Refusal("nonlocal.once_a_month", f"{plate}在{day.year}年{day.month}月已办理过外地车通行证（每月限1次）",
                        f"{plate} already has a non-local pass for {day:%B %Y} (one per month)")]
    return []


def _revoke(*, application, actor, outcome: dict) -> None:
    revoke_credential(application=application, actor=actor, outcome=outcome)


@output("nonlocal_pass.e_permit", revoke=_revoke)
def issue_nonlocal_pass(*, application, actor, params: dict) -> dict:
    """The one-day pass: plate, the day and the restricted hours it covers (params ``windows``)."""
    data = application.form()
    windows = list(params.get("windows") or [])
    if not windows or not all(window_ok(w) for w in windows):
        raise DomainError("nonlocal.windows_undeclared", "通行时段未配置，请联系管理员",
                          "No valid time windows are declared for the non-local pass", status=500)
    day = form_date(data, "travel_date")
    shown = "、".join(windows)
    fields = [("号牌号码", "Plate number", data.get("plate", "")),
              ("通行日期", "Date", f"{day:%Y-%m-%d}"),
              ("限行时段内可通行", "May drive in the restricted hours", shown)]
    out = issue_credential(application=application, actor=actor, kind=str(params.get("kind") or SERVICE),
                           fields=fields, valid_from=day, valid_until=day)
    return {**out, "plate": data.get("plate"), "travel_date": day.isoformat(), "windows": windows}
