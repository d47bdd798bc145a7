from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class PortalConfig(AppConfig):
    name = "jiaoguan.portal"
    label = "portal"
    verbose_name = bi("市民门户", "Citizen portal")

    def ready(self) -> None:
        from jiaoguan.portal import records_parts

        records_parts.register()  # "my page" as a part of the citizens' read model
