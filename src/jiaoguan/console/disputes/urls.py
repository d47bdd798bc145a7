"""The approvers' dispute queue: mounted by console/urls.py at /console/disputes/ (console:console_disputes)."""
from django.urls import path

from jiaoguan.console.disputes import views

app_name = "console_disputes"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("<id:dispute_id>/", views.detail, name="detail"),
    path("<id:dispute_id>/review/", views.review, name="review"),
    path("<id:dispute_id>/evidence/<id:evidence_id>/", views.evidence_photo, name="evidence_photo"),
    path("<id:dispute_id>/photos/<id:photo_id>/", views.dispute_photo, name="dispute_photo"),
]
