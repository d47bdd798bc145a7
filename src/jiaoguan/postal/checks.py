"""Start-up check: a configured postal carrier must be a known one, and never the simulator in production. No
carrier at all passes: delivery by post is then not offered (postal.selectors.delivery_available)."""
from __future__ import annotations

from django.core import checks

from jiaoguan.postal.carriers import configuration_problems


@checks.register("postal")
def postal_carrier_check(app_configs=None, **kwargs):
    return [checks.Error(problem, id="postal.E001") for problem in configuration_problems()]
