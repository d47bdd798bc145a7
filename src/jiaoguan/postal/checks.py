"""Start-up check: the postal carrier must be configured, and never the simulator in production."""
from __future__ import annotations

from django.core import checks

from jiaoguan.postal.carriers import configuration_problems


@checks.register("postal")
def postal_carrier_check(app_configs=None, **kwargs):
    return [checks.Error(problem, id="postal.E001") for problem in configuration_problems()]
