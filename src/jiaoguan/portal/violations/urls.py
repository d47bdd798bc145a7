"""我的违法: mounted by portal/urls.py at /me/violations/ (namespace portal:violations_portal)."""
from django.urls import path

from jiaoguan.portal.violations import views

app_name = "violations_portal"
urlpatterns = [
    path("", views.violation_list, name="list"),
    path("disputes/new/", views.dispute_new, name="dispute_new"),
    path("<id:violation_id>/", views.violation_detail, name="detail"),
    path("<id:violation_id>/photos/<id:evidence_id>/", views.violation_photo, name="photo"),
    path("<id:violation_id>/handle/", views.violation_handle, name="handle"),
    path("<id:violation_id>/waiver/", views.violation_waiver, name="waiver"),
]
