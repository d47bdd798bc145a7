"""The citizen's "my page" (/me/) as a part of the read model (jiaoguan.records): the licence card and the vehicle
list rendered from the portal's own templates once per change, per language, stored encrypted with the account's
other parts, plus the masked name and ID number, the account's standing and the tiles "at a glance" (violations to
handle, payments due, upcoming bookings, applications in progress: records.parts.summary_of, as GET me/summary).
The view then reads one part instead of computing the licence, the vehicles and their insurance and inspection on
every visit."""
from __future__ import annotations

import json

from django.template.loader import render_to_string
from django.utils import translation

from jiaoguan.core import clock
from jiaoguan.core.i18n import bi
from jiaoguan.core.masking import mask_id_number, mask_name
from jiaoguan.identity.selectors import account_standing
from jiaoguan.records.parts import Made, Sources, next_midnight, part_register, summary_of, summary_stale_at

PAGE_PART = "page_me"


def _page(sources: Sources) -> Made:
    user = sources.user
    person = user.person if user.person_id else None
    standing = account_standing(user=user)

    def render(language: str) -> str:
        with translation.override(language):
            licence = "" if sources.licence is None else render_to_string("portal/_licence.html", {
                "licence": sources.licence, "licence_number": mask_id_number(sources.licence.licence_number)})
            vehicles = "" if not sources.vehicles else render_to_string(
                "portal/_my_vehicles.html", {"vehicles": sources.vehicles})
            summary = summary_of(sources, language)
            nxt = summary["bookings"]["next"]
            glance = render_to_string("portal/_glance.html", {
                "s": summary, "next_starts": f"{clock.localtime(nxt['starts_at']):%m-%d %H:%M}" if nxt else ""})
        return json.dumps({
            "name": mask_name(person.name) if person else "",
            "id_number": mask_id_number(person.id_number) if person else "",
            "standing": {"ok": standing.ok, "phone_mismatch": standing.phone_mismatch,
                         "notice": bi(standing.message_zh, standing.message_en).pick(language)},
            "licence_html": licence, "vehicles_html": vehicles, "glance_html": glance,
        }, ensure_ascii=False)

    return Made(render=render, stale_at=summary_stale_at(sources, next_midnight()))


def register() -> None:
    part_register(PAGE_PART, _page)
