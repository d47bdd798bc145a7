from django.urls import path

from jiaoguan.console.accounts import views

urlpatterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("staff/", views.staff_list, name="staff"),
    path("staff/<id:user_id>/active/", views.staff_active, name="staff_active"),
    path("staff/<id:user_id>/tokens/", views.staff_tokens, name="staff_tokens"),
    path("tokens/", views.my_tokens, name="tokens"),
    path("tokens/<id:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
