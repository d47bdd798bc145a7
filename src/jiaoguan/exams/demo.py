"""Demo data for driving-test booking, called by the demo_city command:

    from jiaoguan.exams.demo import demo_exams
    demo_exams(persons=[...registry Person rows without a licence...], now=clock.now())

Two venues (a theory centre for 科目一/科目四, a test ground for 科目二/科目三), sessions on the working days of the
next ``weeks`` weeks whose booking window is still open, and a learner's permit (C1) for each given person,
accepted 10–90 days ago; every third person has already passed 科目一 (so 科目二/三 sessions have candidates).
Idempotent: venues are found by code, sessions are not created twice for a venue, subject and time, and a
person who already holds an active C1 permit is skipped.
"""
from __future__ import annotations

import datetime as dt

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import DomainError
from jiaoguan.exams import services
from jiaoguan.exams.models import Permit, Result, Session, Venue

ACTOR = Actor.system("demo_city")
VENUES = (
    ("FTLL", "福田理论考试中心", "Futian theory test centre", "深圳市福田区彩田路", ["1", "4"]),
    ("LGCD", "龙岗坪地考场", "Longgang Pingdi test ground", "深圳市龙岗区坪地街道", ["2", "3"]),
)
TIMES = {"1": (9, 14), "4": (10,), "2": (8, 13), "3": (9,)}
SEATS = {"1": 60, "4": 40, "2": 12, "3": 8}


def _venue(code: str, zh: str, en: str, address: str, subjects: list[str]) -> Venue:
    found = Venue.objects.filter(code=code).first()
    return found or services.venue_create(code=code, name_zh=zh, name_en=en, address=address, subjects=subjects,
                                          actor=ACTOR)


def demo_exams(*, persons: list, now: dt.datetime | None = None, weeks: int = 3) -> dict:
    """Venues, sessions and permits for the demo city; returns what it made, counted."""
    now = now or clock.now()
    made = {"venues": 0, "sessions": 0, "permits": 0}
    venues = []
    for code, zh, en, address, subjects in VENUES:
        existed = Venue.objects.filter(code=code).exists()
        venues.append(_venue(code, zh, en, address, subjects))
        made["venues"] += 0 if existed else 1
    today = clock.localdate(now)
    for offset in range(4, 7 * weeks + 4):
        day = today + dt.timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for venue in venues:
            for subject in venue.subjects:
                for hour in TIMES[subject]:
                    starts_at = clock.local_datetime(day, dt.time(hour, 0))
                    if Session.objects.filter(venue=venue, subject=subject, starts_at=starts_at).exists():
                        continue
                    try:
                        services.session_create(venue_id=venue.pk, subject=subject, starts_at=starts_at,
                                                seats=SEATS[subject], actor=ACTOR)
                    except DomainError:  # the window would already be closed (a holiday week): skip that day
                        continue
                    made["sessions"] += 1
    for i, person in enumerate(persons):
        if Permit.objects.filter(person=person, licence_class="C1", status=Permit.Status.ACTIVE).exists():
            continue
        accepted = now - dt.timedelta(days=10 + (i * 17) % 80, hours=i % 7)
        try:
            permit = services.permit_issue(person_id=person.pk, licence_class="C1", accepted_at=accepted, actor=ACTOR)
        except DomainError:  # e.g. too young for C1 on that date
            continue
        made["permits"] += 1
        if i % 3 == 2:
            passed_at = accepted + dt.timedelta(days=7)
            Result.objects.create(permit=permit, subject="1", outcome=Result.Outcome.PASS, exam_at=passed_at,
                                  recorded_at=passed_at, recorded_by=ACTOR.label)
    return made
