"""Staff booking pages: mounted by console/urls.py at /console/bookings/ (namespace console:bookings_console)."""
from django.urls import path

from jiaoguan.console.bookings import views

app_name = "bookings_console"
urlpatterns = [
    path("", views.slot_list, name="slots"),
    path("slots/<id:slot_id>/", views.slot_detail, name="slot"),
    path("slots/<id:slot_id>/cancel/", views.slot_cancel, name="slot_cancel"),
    path("bookings/<id:booking_id>/attendance/", views.booking_attendance, name="attendance"),
    path("bookings/<id:booking_id>/cancel/", views.booking_cancel, name="booking_cancel"),
    path("allocations/", views.allocations, name="allocations"),
    path("penalties/", views.penalties, name="penalties"),
    path("penalties/<id:penalty_id>/lift/", views.penalty_lift, name="penalty_lift"),
]
