"""Demo data: three inspection stations in Shenzhen with slots for the next 14 days.

    from jiaoguan.inspections.demo import demo_inspections
    demo_inspections(now=clock.now())

Idempotent: stations are looked up by code and existing slots are skipped, so a second call adds only the days
that have come into the 14-day range since. Called by the demo_city command.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.inspections import services
from jiaoguan.inspections.models import Station

STATIONS = (
    # code, name_zh, name_en, district, address, lanes, opens, closes, minutes
    ("nanshan01", "南山机动车检测站", "Nanshan Vehicle Inspection Station", "南山区", "深圳市南山区沙河西路3011号",
     4, dt.time(9), dt.time(17), 60),
    ("futian01", "福田安托山检测站", "Futian Antuoshan Inspection Station", "福田区", "深圳市福田区安托山六路8号",
     3, dt.time(9), dt.time(17), 30),
    ("longgang01", "龙岗布吉检测站", "Longgang Buji Inspection Station", "龙岗区", "深圳市龙岗区布吉街道吉华路288号",
     5, dt.time(8, 30), dt.time(17, 30), 60),
)


@dataclass(frozen=True)
class DemoInspections:
    stations: int
    slots_created: int


def demo_inspections(*, now: dt.datetime, days: int = 14) -> DemoInspections:
    actor = Actor.system("demo_city")
    first = clock.localdate(now)
    created = 0
    for code, name_zh, name_en, district, address, lanes, opens, closes, minutes in STATIONS:
        station = Station.objects.filter(code=code).first()
        if station is None:
            station = services.station_create(code=code, name_zh=name_zh, name_en=name_en, address=address,
                                              district=district, lanes=lanes, actor=actor)
        created += services.slots_generate(station_id=station.pk, first=first, last=first + dt.timedelta(days=days - 1),
                                           opens=opens, closes=closes, minutes=minutes, lanes=lanes,
                                           weekdays=[0, 1, 2, 3, 4, 5], actor=actor).created
    return DemoInspections(len(STATIONS), created)
