from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class RegistryConfig(AppConfig):
    name = "jiaoguan.registry"
    label = "registry"
    verbose_name = bi("登记档案", "Registry")
