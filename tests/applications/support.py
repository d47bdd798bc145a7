"""Test data for the workflow engine: fast accounts (registry person + verified citizen account), staff, files."""
from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

from jiaoguan.applications import services
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from tests.factories import make_licence, make_person

TEST_CATALOGUE = Path(__file__).resolve().parent / "catalogue"
_seq = itertools.count(1)

PDF = b"%PDF-1.4\n" + b"0" * 200
PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)
JPEG = b"\xff\xd8\xff\xe0" + bytes(100)
GIF = b"GIF89a" + bytes(100)


def citizen(*, licence: bool = True, verified: bool = True):
    from jiaoguan.identity.models import User

    person = make_person(name="王小明")
    if licence:
        make_licence(person=person)
    n = next(_seq)
    return User.objects.create_user(username=f"apc{n:06d}", role="citizen", person=person, phone=person.phone,
                                    real_name_verified_at=clock.now() if verified else None)


def staff(role: str, name: str | None = None):
    from jiaoguan.identity.models import User

    n = next(_seq)
    return User.objects.create_user(username=name or f"{role}{n:04d}", role=role, display_name=f"民警{n:04d}")


def actor(user) -> Actor:
    return Actor.of(user)


def sample_data(**over) -> dict:
    data = {"plate": "粤BA1234", "urgency": "normal", "start_date": (clock.today() + dt.timedelta(days=2)).isoformat(),
            "trips": "2", "contact_phone": "13800138000", "driver_id_number": "", "note": "运送建材"}
    data.update(over)
    return data


def draft(user, service: str = "sample", data: dict | None = None, *, route_map: bool = True):
    if data is None:
        data = sample_data() if service == "sample" else {"plate": "粤BA1234"} if service == "t_standard" else {}
    app = services.application_draft_create(user=user, service_code=service, data=data)
    if service == "sample" and route_map:
        services.material_upload(user=user, application_id=app.pk, slot="route_map", filename="map.pdf", content=PDF)
    return app


def submitted(user=None, service: str = "sample", data: dict | None = None):
    user = user or citizen()
    app = draft(user, service, data)
    return services.application_submit(user=user, application_id=app.pk)


def accepted(clerk, user=None, service: str = "sample", data: dict | None = None):
    app = submitted(user, service, data)
    return services.application_accept(application_id=app.pk, actor=actor(clerk))
