from django.urls import path

from jiaoguan.portal.accounts import views

urlpatterns = [
    path("register/", views.register, name="register"),
    path("register/details/", views.register_details, name="register_details"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("password/reset/", views.password_reset, name="password_reset"),
    path("me/", views.me, name="me"),
    path("me/phone/", views.phone_change, name="phone_change"),
    path("me/address/", views.address_change, name="address_change"),
    path("me/phone-on-file/", views.phone_file_change, name="phone_file_change"),
    path("phone-on-file/object/", views.phone_file_object, name="phone_file_object"),
    path("me/vehicles/bind/", views.bind, name="bind"),
    path("me/vehicles/bindings/<id:binding_id>/confirm/", views.bind_confirm, name="bind_confirm"),
    path("me/vehicles/bindings/<id:binding_id>/unbind/", views.unbind, name="unbind"),
    path("me/messages/", views.inbox, name="messages"),
    path("me/messages/<id:message_id>/read/", views.message_read, name="message_read"),
]
