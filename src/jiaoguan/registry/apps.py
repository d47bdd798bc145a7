from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "jiaoguan.registry"
    label = "registry"
    verbose_name = "登记档案 Registry"
