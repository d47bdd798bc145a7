"""credentials pages of the portal: mounted by portal/urls.py at /credentials/ (namespace portal:credentials_portal):
the holder's own e-permits (login) and the public verification page (no login, the address in the QR code)."""
from django.urls import path

from jiaoguan.portal.credentials import views

app_name = "credentials_portal"
urlpatterns = [
    path("", views.home, name="home"),
    # public (no login): the address in the credential's QR code
    path("verify/<str:number>/<str:token>/", views.verify, name="verify"),
    path("<str:number>/", views.detail, name="detail"),
    path("<str:number>/pdf/", views.pdf, name="pdf"),
]
