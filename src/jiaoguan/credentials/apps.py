from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "jiaoguan.credentials"
    label = "credentials"
    verbose_name = "电子证照 E-credentials"
