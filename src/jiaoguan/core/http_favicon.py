"""``/favicon.ico``: browsers ask for it on every page whatever the ``<link rel="icon">`` says; answer with a
permanent redirect to the site's icon (a static file served by WhiteNoise) instead of logging a 404 each time."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

ICON = "jiaoguan/favicon.svg"


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    return HttpResponsePermanentRedirect(static(ICON))
