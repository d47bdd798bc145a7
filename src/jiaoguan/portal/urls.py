from django.urls import include, path

from jiaoguan.portal import enterprise_views, views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("register/", views.register, name="register"),
    path("register/details/", views.register_details, name="register_details"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("password/reset/", views.password_reset, name="password_reset"),
    path("me/", views.me, name="me"),
    path("me/enterprise/", enterprise_views.home, name="enterprise"),
    path("me/phone/", views.phone_change, name="phone_change"),
    path("me/vehicles/bind/", views.bind, name="bind"),
    path("me/vehicles/bindings/<id:binding_id>/confirm/", views.bind_confirm, name="bind_confirm"),
    path("me/vehicles/bindings/<id:binding_id>/unbind/", views.unbind, name="unbind"),
    path("me/messages/", views.inbox, name="messages"),
    path("me/messages/<id:message_id>/read/", views.message_read, name="message_read"),
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
