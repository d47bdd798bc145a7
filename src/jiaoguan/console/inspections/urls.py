"""Staff inspection pages: mounted by console/urls.py at /console/inspections/ (console:inspections_console)."""
from django.urls import path

from jiaoguan.console.inspections import views

app_name = "inspections_console"
urlpatterns = [
    path("", views.index, name="index"),
    path("stations/<id:station_id>/", views.station, name="station"),
    path("stations/<id:station_id>/active/", views.station_active, name="station_active"),
    path("stations/<id:station_id>/day/", views.day, name="day"),
    path("bookings/<id:booking_id>/attendance/", views.attendance, name="attendance"),
    path("bookings/<id:booking_id>/result/", views.result, name="result"),
]
