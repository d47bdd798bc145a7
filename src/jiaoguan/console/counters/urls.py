"""counters pages of the console: mounted by console/urls.py at /console/appointments/
(namespace console:counters_console)."""
from django.urls import path

from jiaoguan.console.counters import views

app_name = "counters_console"
urlpatterns = [
    path("", views.index, name="index"),
    path("<id:office_service_id>/<str:date>/", views.day, name="day"),
    path("bookings/<id:booking_id>/mark/", views.mark, name="mark"),
]
