from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "jiaoguan.portal"
    label = "portal"
    verbose_name = "市民门户 Citizen portal"
