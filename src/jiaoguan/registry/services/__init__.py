"""Writes to the registry. Every function is keyword-only, runs in one transaction, checks its input with the
core validators (field-level InvalidInput), and appends an audit row with old and new values (personal data
masked: the audit log must not become a second copy of the register).

One module per section: ``_helpers`` (the staff check, the audit diff, field checks shared with the CSV import),
``persons``, ``licences`` (the life cycle ``rules.LICENCE_TRANSITIONS``, renewal, the expiry sweep), ``points``
(scoring cycles; the violations app's ledger is the authority), ``vehicles`` (registration, insurance,
inspections, ownership, status ``rules.VEHICLE_TRANSITIONS``, plates chosen online). This package re-exports
their public API: callers import ``jiaoguan.registry.services`` (a test that patches a name patches it in the
module that looks it up).
"""
from __future__ import annotations

from jiaoguan.registry.services._helpers import (
    check_choice,
    check_plate_type,
    infer_plate_type,
    validate_classes,
    validate_file_number,
    validate_person_name,
    validate_policy_number,
)
from jiaoguan.registry.services.licences import (
    FILE_NUMBER_PREFIX,
    check_licence_ages,
    licence_cancel,
    licence_class_add,
    licence_expire,
    licence_health_postpone,
    licence_health_report_record,
    licence_issue,
    licence_postpone,
    licence_probation_cancel,
    licence_probation_extend,
    licence_renew,
    licence_restore,
    licence_review_postpone,
    licence_review_record,
    licence_revoke,
    licence_set_status,
    licence_suspend,
    licences_apply_dates,
    next_file_number,
)
from jiaoguan.registry.services.persons import (
    person_create,
    person_update_address,
    person_update_phone,
)
from jiaoguan.registry.services.points import (
    TOPIC_LICENCE_POINTS_IMPORTED,
    UnpaidFinePoints,
    licence_points_imported,
    licence_points_set,
    licences_points_rollover,
    no_unpaid_fine_points,
)
from jiaoguan.registry.services.vehicles import (
    DEFAULT_SEATS,
    TOPIC_VEHICLE_OWNER_CHANGED,
    TOPIC_VEHICLE_STATUS_CHANGED,
    inspection_due_for,
    policy_add,
    policy_periods_overlap,
    same_owner,
    vehicle_plate_assign,
    vehicle_record_inspection,
    vehicle_register,
    vehicle_set_status,
    vehicle_transfer,
)

__all__ = [
    "validate_person_name",
    "validate_classes",
    "validate_file_number",
    "validate_policy_number",
    "check_choice",
    "infer_plate_type",
    "check_plate_type",
    "person_create",
    "person_update_phone",
    "person_update_address",
    "FILE_NUMBER_PREFIX",
    "next_file_number",
    "check_licence_ages",
    "licence_issue",
    "licence_suspend",
    "licence_restore",
    "licence_revoke",
    "licence_cancel",
    "licence_class_add",
    "licence_postpone",
    "licence_probation_cancel",
    "licence_probation_extend",
    "licence_review_postpone",
    "licence_review_record",
    "licence_expire",
    "licence_health_postpone",
    "licence_health_report_record",
    "licence_set_status",
    "licence_renew",
    "licences_apply_dates",
    "TOPIC_LICENCE_POINTS_IMPORTED",
    "UnpaidFinePoints",
    "no_unpaid_fine_points",
    "licence_points_imported",
    "licence_points_set",
    "licences_points_rollover",
    "TOPIC_VEHICLE_OWNER_CHANGED",
    "TOPIC_VEHICLE_STATUS_CHANGED",
    "DEFAULT_SEATS",
    "inspection_due_for",
    "vehicle_register",
    "policy_periods_overlap",
    "policy_add",
    "vehicle_record_inspection",
    "same_owner",
    "vehicle_transfer",
    "vehicle_set_status",
    "vehicle_plate_assign",
]
