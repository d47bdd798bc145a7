"""Demo data: Shenzhen's 粤B office with the default withholding policies and a small pool.

    from jiaoguan.plates.demo import demo_plates
    demo_plates()            # 粤B: ordinary series "A####" (10,000) + new-energy small "D0####"/"F0####" (20,000)

Idempotent: a second call adds nothing. Called by the demo_city command; sizes are parameters.
"""
from __future__ import annotations

from dataclasses import dataclass

from jiaoguan.core.audit import Actor
from jiaoguan.plates import services
from jiaoguan.plates.models import Office, PlateNumber, WithholdPolicy

DEFAULT_POLICIES = (
    ("警用及公务保留号段 粤B·J****", "prefix", "J", ""),
    ("含数字4的号码", "contains", "4", ""),
    ("四连号及以上（靓号保留）", "regex", r".*(\d)\1{3}.*", ""),
)


@dataclass(frozen=True)
class DemoPlates:
    office_id: int
    added: int
    available: int


def demo_plates(*, prefix: str = "粤B", code: str = "440300", name: str = "深圳市公安局交通警察局车辆管理所",
                ordinary_series: tuple[str, ...] = ("A####",), nev_series: tuple[str, ...] = ("D0####", "F0####"),
                seed: int = 2026) -> DemoPlates:
    actor = Actor.system("demo")
    office = Office.objects.filter(prefix=prefix).first()
    if office is None:
        office = services.office_create(code=code, name=name, prefix=prefix, actor=actor)
    for policy_name, rule, value, kind in DEFAULT_POLICIES:
        if not WithholdPolicy.objects.filter(office=office, rule=rule, value=value).exists():
            services.policy_add(office=office, name=policy_name, rule=rule, value=value, kind=kind, actor=actor)
    added = 0
    for i, series in enumerate(ordinary_series):
        added += services.plate_pool_generate(office=office, kind="02", series=series, actor=actor,
                                              seed=seed + i).added
    for i, series in enumerate(nev_series):
        added += services.plate_pool_generate(office=office, kind="52", series=series, actor=actor,
                                              seed=seed + 100 + i).added
    available = PlateNumber.objects.filter(office=office, status=PlateNumber.Status.AVAILABLE).count()
    return DemoPlates(office_id=office.pk, added=added, available=available)
