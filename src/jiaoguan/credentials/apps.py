from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class CredentialsConfig(AppConfig):
    name = "jiaoguan.credentials"
    label = "credentials"
    verbose_name = bi("电子证照", "E-credentials")
