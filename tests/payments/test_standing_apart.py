"""The late-fee numbers pages show come from the settings the rule reads; the simulator is an adapter named in
settings, which the app's services, selectors and channel registry never import."""
from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import translation

from jiaoguan.core import clock
from jiaoguan.payments import channels, selectors, simulator
from tests.payments.conftest import make_item

NOTICE = Template('{% load i18n payments %}{% late_fee_rules as late_fee %}{% blocktranslate with '
                  'grace=late_fee.grace_days percent=late_fee.daily_percent %}已超过决定书送达之日起{{ grace }}日，'
                  '每日按罚款数额的{{ percent }}%加处罚款，加处总额不超过罚款本身。{% endblocktranslate %}')


def test_the_late_fee_tag_reads_the_settings_the_rule_reads(settings):
    assert Template("{% load payments %}{% late_fee_rules as f %}{{ f.grace_days }}/{{ f.daily_percent }}").render(
        Context()) == "15/3"
    assert "15日" in NOTICE.render(Context()) and "3%" in NOTICE.render(Context())
    settings.JIAOGUAN_PAY_LATE_FEE_GRACE_DAYS = 10
    settings.JIAOGUAN_PAY_LATE_FEE_DAILY_PERCENT = 5
    assert selectors.late_fee_rules() == (10, 5)
    assert "之日起10日" in NOTICE.render(Context()) and "数额的5%" in NOTICE.render(Context())
    with translation.override("en"):
        assert NOTICE.render(Context()).startswith("More than 10 days after the decision: 5% of the fine")


@pytest.mark.django_db
def test_the_payable_partial_shows_the_configured_rule(settings, payer):
    settings.JIAOGUAN_PAY_LATE_FEE_GRACE_DAYS = 10
    item = make_item(person_id=payer.pk, late_fee=True, decision_date=clock.today() - dt.timedelta(days=12))
    principal, fee, total = selectors.payable_amount_due(item=item)
    html = Template('{% include "portal/_payable.html" with row=row %}').render(Context({"row": {
        "item": item, "principal_fen": principal, "late_fee_fen": fee, "total_fen": total, "reference": "",
        "barcode_svg": "", "qr_svg": ""}}))
    assert fee > 0 and "已超过决定书送达之日起10日，每日按罚款数额的3%加处罚款" in html


def test_the_sim_channel_is_the_adapter_named_in_settings(settings):
    assert settings.JIAOGUAN_PAY_CHANNEL_ADAPTERS["sim"] == "jiaoguan.payments.simulator.SimulatorChannel"
    assert isinstance(channels._CHANNELS["sim"], simulator.SimulatorChannel)
    assert str(channels.channel_label("sim")) and channels.channel_label("nope") == "nope"


@pytest.mark.parametrize("app, modules", [
    ("payments", ["services", "selectors", "channels", "rules", "api", "notices", "tasks", "reference"]),
    ("postal", ["services", "selectors", "carriers", "rules", "api", "tasks", "checks"]),
])
def test_the_app_never_imports_its_simulator_or_portal(app, modules):
    root = Path(__file__).resolve().parents[2] / "src" / "jiaoguan" / app
    for name in modules:
        tree = ast.parse((root / f"{name}.py").read_text(encoding="utf-8"))
        imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {f"{n.module}.{a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                     for a in n.names}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in imported if m.endswith(f"{app}.simulator") or m.startswith("jiaoguan.portal")
                    or m.startswith("jiaoguan.console")}, (app, name)
