"""plates pages of the console: mounted by console/urls.py (namespace console:plates_console)."""
from django.urls import path

from jiaoguan.console.plates import views

app_name = "plates_console"
urlpatterns = [
    path("", views.index, name="index"),
    path("offices/<id:office_id>/generate/", views.generate, name="generate"),
    path("policies/", views.policies, name="policies"),
    path("policies/add/", views.policy_add, name="policy_add"),
    path("policies/<id:policy_id>/deactivate/", views.policy_deactivate, name="policy_deactivate"),
]
