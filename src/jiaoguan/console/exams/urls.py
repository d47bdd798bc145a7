"""exams pages of the console: mounted by console/urls.py at /console/exams/ (namespace console:exams_console)."""
from django.urls import path

from jiaoguan.console.exams import views

app_name = "exams_console"
urlpatterns = [
    path("", views.index, name="index"),
    path("allocate/", views.allocate, name="allocate"),
    path("sessions/new/", views.session_new, name="session_new"),
    path("sessions/<id:session_id>/", views.session_detail, name="session"),
    path("sessions/<id:session_id>/results/", views.result, name="result"),
    path("venues/", views.venues, name="venues"),
    path("permits/", views.permits, name="permits"),
]
