"""考试预约: mounted by portal/urls.py at /me/exams/ (namespace portal:exams_portal)."""
from django.urls import path

from jiaoguan.portal.exams import views

app_name = "exams_portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("apply/", views.apply, name="apply"),
    path("applications/<id:application_id>/withdraw/", views.withdraw, name="withdraw"),
    path("bookings/<id:booking_id>/cancel/", views.cancel, name="cancel"),
]
