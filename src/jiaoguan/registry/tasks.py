"""registry's periodic work: licences move to expired / cancelled when their dates pass. Points at a scoring
cycle's end belong to the violations app's ledger (see points_cycle_rollover)."""
from celery import shared_task

from jiaoguan.core.scheduler import periodic
from jiaoguan.registry import partners, services


@periodic(seconds=3600)
@shared_task(name="registry.licence_expiry_sweep", ignore_result=True)
def licence_expiry_sweep() -> dict[str, int]:
    """Hourly (the dates change once a day; hourly keeps a restarted scheduler from missing a day)."""
    return services.licences_apply_dates()


@shared_task(name="registry.points_cycle_rollover", ignore_result=True)
def points_cycle_rollover() -> dict[str, int]:
    """Clear the points of scoring cycles that have ended, for a deployment without the violations app. Not a
    periodic job here: the violations app's points ledger owns cycle ends (``violations.points_cycles_open``)
    and mirrors the carried-over figure onto the licence through ``licence_points_set``."""
    return services.licences_points_rollover()


@periodic(seconds=3600)
@shared_task(name="registry.partner_nonces_purge", ignore_result=True)
def partner_nonces_purge() -> int:
    """Forget the partners' request nonces older than twice the freshness window (refused as stale anyway)."""
    return partners.partner_nonces_purge()
