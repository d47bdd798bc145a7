"""The approvers' dispute queue: mounted by console/urls.py at /console/disputes/ (console:console_disputes)."""
from django.urls import path

from jiaoguan.console import dispute_views as views

app_name = "console_disputes"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:dispute_id>/", views.detail, name="detail"),
    path("<int:dispute_id>/review/", views.review, name="review"),
    path("<int:dispute_id>/evidence/<int:evidence_id>/", views.evidence_photo, name="evidence_photo"),
    path("<int:dispute_id>/photos/<int:photo_id>/", views.dispute_photo, name="dispute_photo"),
]
