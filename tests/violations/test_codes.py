"""The code table is data: loaded by a migration from the fixture, editable in the admin."""
import json
from pathlib import Path

import pytest

from jiaoguan.violations.models import ViolationCode

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).resolve().parents[2] / "src/jiaoguan/violations/fixtures/violation_codes.json"


@pytest.mark.parametrize("code,points,fine_fen", [
    ("1625", 6, 50000), ("1362", 3, 20000), ("1357", 3, 20000), ("1373", 3, 20000), ("1116", 1, 10000),
    ("1117", 1, 10000), ("1120", 1, 5000), ("1039", 0, 20000), ("4609", 12, 200000), ("1108", 12, 500000),
    ("1718", 9, 200000),
])
def test_domain_codes_are_loaded(code, points, fine_fen):
    row = ViolationCode.objects.get(code=code)
    assert (row.points, row.fine_fen) == (points, fine_fen)
    assert row.description_zh and row.description_en


def test_every_fixture_row_is_loaded_and_consistent():
    rows = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert ViolationCode.objects.count() == len(rows) == len({r["code"] for r in rows})
    for r in rows:
        assert r["points"] in (0, 1, 3, 6, 9, 12)
        assert 4 <= len(r["code"]) <= 5 and r["code"].isdigit()
        assert r["fine_min_fen"] <= r["fine_max_fen"]
    assert ViolationCode.objects.filter(first_violation_list=True).count() >= 4
    # 12-point codes can never be handled online
    assert not ViolationCode.objects.filter(points=12, online_allowed=True).exists()


def test_admin_can_edit_a_code(admin_client):
    row = ViolationCode.objects.get(code="1120")
    page = admin_client.get(f"/admin/violations/violationcode/{row.pk}/change/")
    assert page.status_code == 200
    data = {k: getattr(row, k) for k in ("code", "description_zh", "description_en", "points", "fine_min_fen",
                                           "fine_max_fen")}
    data.update(fine_fen=10000, online_allowed="on", first_violation_list="on", active="on")
    resp = admin_client.post(f"/admin/violations/violationcode/{row.pk}/change/", data)
    assert resp.status_code == 302
    row.refresh_from_db()
    assert row.fine_fen == 10000
