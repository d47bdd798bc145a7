"""东部预约 staff pages: mounted by console/urls.py at /console/east/ (namespace console:eastern_console)."""
from django.urls import path

from jiaoguan.console.eastern import views

app_name = "eastern_console"
urlpatterns = [
    path("", views.index, name="index"),
    path("areas/new/", views.area_new, name="area_new"),
    path("days/new/", views.day_new, name="day_new"),
    path("exemptions/", views.exemptions, name="exemptions"),
    path("exemptions/<id:exemption_id>/revoke/", views.exemption_revoke, name="exemption_revoke"),
    path("checkpoints/", views.checkpoints, name="checkpoints"),
    path("passages/", views.passages, name="passages"),
]
