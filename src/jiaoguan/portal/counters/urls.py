"""窗口预约 pages of the portal: mounted by portal/urls.py at /me/appointments/ (namespace portal:counters_portal)."""
from django.urls import path

from jiaoguan.portal.counters import views

app_name = "counters_portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("book/", views.book, name="book"),
    path("batch/", views.batch, name="batch"),
    path("<id:booking_id>/cancel/", views.cancel, name="cancel"),
]
