"""Wiring only: mount each app's pages and the API."""
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from jiaoguan.api import api
from jiaoguan.core.http_favicon import favicon

urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("api/v1/", api.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("console/", include("jiaoguan.console.urls")),
    path("pay/", include("jiaoguan.portal.payments.urls")),
    path("admin/", admin.site.urls),
    path("", include("jiaoguan.portal.urls")),
]
