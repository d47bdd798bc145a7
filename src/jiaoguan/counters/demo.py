"""Demo data for ``manage.py demo_city``: two vehicle-administration offices with their counter services and
slots for the next two weeks of working days. Running it again adds only what is missing."""
from __future__ import annotations

import datetime as dt

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.counters import services
from jiaoguan.counters.models import Office, OfficeService

ACTOR = Actor.system("demo_city")
OFFICES = (
    # code, zh, en, address, services (code, windows)
    ("FT", "福田车管所", "Futian Vehicle Administration Office", "深圳市福田区北环大道7028号",
     (("licence", 4), ("vehicle", 3), ("violation", 2))),
    ("NS", "南山车管分所", "Nanshan Vehicle Administration Office", "深圳市南山区沙河西路3011号",
     (("licence", 2), ("vehicle", 2), ("accident", 1))),
)


def demo_counters(*, now: dt.datetime, days: int = 14) -> str:
    services.services_catalogue_seed()
    today = clock.localdate(now)
    slots = 0
    for code, zh, en, address, offered in OFFICES:
        office = Office.objects.filter(code=code).first() or services.office_create(
            code=code, name_zh=zh, name_en=en, address_zh=address, actor=ACTOR,
            break_starts=dt.time(12, 0), break_ends=dt.time(13, 30))
        for service_code, windows in offered:
            os_ = (OfficeService.objects.filter(office=office, service__code=service_code).first()
                   or services.office_service_add(office=office, service_code=service_code, actor=ACTOR,
                                                  windows=windows))
            slots += services.slots_generate(office_service_id=os_.pk, first_day=today + dt.timedelta(days=1),
                                             last_day=today + dt.timedelta(days=days), actor=ACTOR).created
    return f"{len(OFFICES)} counter offices ({slots} new slots)"
