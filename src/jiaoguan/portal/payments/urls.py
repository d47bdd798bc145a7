"""Payment pages outside the citizen's area, mounted at /pay/: the channel simulator's pay page (development and
tests) and e-receipts. Namespace "payments" (names unchanged since they were the payments app's own pages)."""
from django.urls import path

from jiaoguan.portal.payments import views

app_name = "payments"
urlpatterns: list = [
    path("sim/<str:token>/", views.sim_pay, name="sim_pay"),
    path("receipt/<str:reference>/", views.receipt, name="receipt"),
]
