"""The session engine (``SESSION_ENGINE``): Django's database sessions, with the one read every signed-in page
makes — the session row by its key — as a prepared hand-written statement (``core.rows``) instead of a compiled
ORM query (docs/performance.md §9.5). Writing, expiry, cycling and flushing are Django's own."""
from __future__ import annotations

import logging
from functools import cache

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.core.exceptions import SuspiciousOperation
from django.db import connection
from django.utils import timezone

from jiaoguan.core import rows


@cache
def _sql() -> str:
    qn = connection.ops.quote_name
    return (f"SELECT {rows.columns(Session, 's')} FROM {qn(Session._meta.db_table)} s "
            f"WHERE s.{qn('session_key')} = %s AND s.{qn('expire_date')} > %s")


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        # the wall clock, as Django's own (the sessions' expire dates are written with it; not core.clock, which
        # tests freeze to other days)
        try:
            values = rows.fetchone(_sql(), [self.session_key, rows.param(Session, "expire_date", timezone.now())])
            if values is None:
                raise Session.DoesNotExist
            return rows.instance(Session, values)
        except (Session.DoesNotExist, SuspiciousOperation) as e:
            if isinstance(e, SuspiciousOperation):
                logging.getLogger(f"django.security.{e.__class__.__name__}").warning(str(e))
            self._session_key = None
            return None
