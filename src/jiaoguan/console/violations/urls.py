"""Staff violation pages: mounted by console/urls.py at /console/violations/ (console:console_violations)."""
from django.urls import path

from jiaoguan.console.violations import views

app_name = "console_violations"
urlpatterns = [
    path("record/", views.record, name="record"),
    path("import/", views.import_csv, name="import"),
    path("revoke/", views.revoke_find, name="revoke_find"),
    path("<id:violation_id>/revoke/", views.revoke, name="revoke"),
    path("detentions/", views.detentions, name="detentions"),
    path("detentions/<id:detention_id>/cancel/", views.detention_cancel, name="detention_cancel"),
]
