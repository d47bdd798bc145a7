"""applications pages of the console: mounted by console/urls.py (namespace console:applications_console).

    /console/applications/                                   work queues (?queue=…&service=…&page=…)
    /console/applications/statistics/                        statistics per service (?since=&until=)
    /console/applications/<id>/                              one application (access-audited)
    /console/applications/<id>/claim/ | release/ | act/      POST
    /console/applications/<id>/materials/<material_id>/      an uploaded file (permission-checked, audited)
"""
from django.urls import path

from jiaoguan.console.applications import views

app_name = "applications_console"
urlpatterns = [
    path("", views.queues, name="queues"),
    path("statistics/", views.statistics, name="statistics"),
    path("<id:application_id>/", views.detail, name="detail"),
    path("<id:application_id>/claim/", views.claim, name="claim"),
    path("<id:application_id>/release/", views.release, name="release"),
    path("<id:application_id>/act/", views.act, name="act"),
    path("<id:application_id>/materials/<id:material_id>/", views.material, name="material"),
]
