"""The API's JSON renderer: aware datetimes go out in the deployment's time zone (+08:00), as every domain API
prints them, whatever the database handed back (UTC). Dates are local dates already and pass unchanged."""
from __future__ import annotations

import datetime as dt
from typing import Any

from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder

from jiaoguan.core import clock


class LocalTimeEncoder(NinjaJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime) and o.tzinfo is not None:
            o = clock.localtime(o)
        return super().default(o)


class LocalTimeRenderer(JSONRenderer):
    encoder_class = LocalTimeEncoder
