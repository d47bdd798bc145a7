"""The shape of GET /api/v1/me/summary: a citizen's records at a glance (the read model's "summary" part). Counts
and the one item that matters most of each kind; the full lists stay at their own endpoints (me/licences,
me/vehicles, me/violations, me/bookings, me/applications, payments)."""
from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class SummaryLicenceOut(Schema):
    status: str
    status_label: str
    points: int = Field(description="points in the current scoring cycle")
    points_left: int
    valid_until: dt.date | None = Field(description="null = long-term")
    renewal_window_open: bool


class SummaryVehiclesOut(Schema):
    own: int
    bound: int = Field(description="others' vehicles bound with their owner's consent")
    inspection_overdue: int
    uninsured: int = Field(description="compulsory insurance expired or not on record")


class SummaryViolationOut(Schema):
    id: int
    plate: str
    occurred_at: dt.datetime
    description: str
    status: str
    status_label: str


class SummaryViolationsOut(Schema):
    not_handled: int
    fine_unpaid: int
    disputed: int
    latest: SummaryViolationOut | None


class SummaryPaymentsOut(Schema):
    count: int = Field(description="items waiting for payment (fines and fees)")
    total_fen: int = Field(description="what they come to today, late fees included")
    late_fee_fen: int
    oldest_created_at: dt.datetime | None


class SummaryBookingOut(Schema):
    id: int
    reference: str
    kind: str
    what: str
    starts_at: dt.datetime
    status: str
    status_label: str


class SummaryBookingsOut(Schema):
    upcoming: int = Field(description="held or confirmed, not yet started")
    next: SummaryBookingOut | None


class SummaryApplicationOut(Schema):
    id: int
    reference: str
    service: str
    status: str
    status_label: str
    submitted_at: dt.datetime | None


class SummaryApplicationsOut(Schema):
    open: int = Field(description="submitted and not yet decided, or sent back for correction")
    returned: int = Field(description="sent back: waiting for the applicant")
    latest: SummaryApplicationOut | None = Field(description="the newest in progress, else the newest decided")


class SummaryOut(Schema):
    licence: SummaryLicenceOut | None
    vehicles: SummaryVehiclesOut
    violations: SummaryViolationsOut
    payments: SummaryPaymentsOut
    bookings: SummaryBookingsOut
    applications: SummaryApplicationsOut
