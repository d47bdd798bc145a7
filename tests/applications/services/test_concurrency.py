"""Two submissions for the same plate and month at the same moment: one pass, the other refused (PostgreSQL)."""
import datetime as dt

import pytest

from jiaoguan.applications import services
from jiaoguan.applications.models import Application
from jiaoguan.applications.services import Ineligible
from tests.applications.services.support import citizen, draft_with
from tests.concurrency import in_threads

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def frozen(clock):
    clock.freeze(dt.datetime(2026, 11, 23, 10, 0))
    return clock


@pytest.mark.parametrize("n", [2, 4])
def test_same_plate_same_month_at_once_one_pass(frozen, n):
    users = [citizen() for _ in range(n)]
    days = ["2026-12-02", "2026-12-03", "2026-12-04", "2026-12-07"]
    drafts = [draft_with(u, "nonlocal_pass", {"plate": "湘A77777", "travel_date": days[i], "small_car": "on"})
              for i, u in enumerate(users)]
    results = in_threads(n, lambda i: services.application_submit(user=users[i],
                                                                   application_id=drafts[i].pk).status)
    approved = [r for r in results if r == "approved"]
    refused = [r for r in results if isinstance(r, Ineligible)]
    assert len(approved) == 1 and len(refused) == n - 1, results
    assert all("nonlocal.once_a_month" in "".join(r.fields) for r in refused)
    assert Application.objects.filter(service_code="nonlocal_pass", status="approved").count() == 1
    assert Application.objects.filter(service_code="nonlocal_pass", status="draft").count() == n - 1
