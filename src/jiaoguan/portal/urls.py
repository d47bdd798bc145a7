from django.urls import include, path

from jiaoguan.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("", include("jiaoguan.portal.accounts.urls")),
    path("me/enterprise/", include("jiaoguan.portal.enterprise.urls")),
    path("me/violations/", include("jiaoguan.portal.violations.urls")),
    path("me/bookings/", include("jiaoguan.portal.bookings.urls")),
    path("me/exams/", include("jiaoguan.portal.exams.urls")),
    path("me/inspections/", include("jiaoguan.portal.inspections.urls")),
    path("me/appointments/", include("jiaoguan.portal.counters.urls")),
    path("me/east/", include("jiaoguan.portal.eastern.urls")),
    path("me/plates/", include("jiaoguan.portal.plates.urls")),
    path("services/", include("jiaoguan.portal.applications.urls")),
    path("credentials/", include("jiaoguan.portal.credentials.urls")),
    path("me/payments/", views.payments, name="payments"),
    path("me/payments/lookup/", views.payment_lookup, name="payment_lookup"),
    path("me/payments/orders/<str:reference>/", views.payment_order, name="payment_order"),
    path("me/payments/orders/<str:reference>/pay/", views.payment_order_pay, name="payment_order_pay"),
    path("me/payments/orders/<str:reference>/refresh/", views.payment_order_refresh, name="payment_order_refresh"),
]
