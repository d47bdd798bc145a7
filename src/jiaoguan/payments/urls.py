"""Payment pages outside the portal: the channel simulator's pay page (development and tests) and e-receipts."""
from django.urls import path

from jiaoguan.payments import views

app_name = "payments"
urlpatterns: list = [
    path("sim/<str:token>/", views.sim_pay, name="sim_pay"),
    path("receipt/<str:reference>/", views.receipt, name="receipt"),
]
