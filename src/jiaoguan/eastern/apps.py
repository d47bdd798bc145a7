from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class EasternConfig(AppConfig):
    name = "jiaoguan.eastern"
    label = "eastern"
    verbose_name = bi("东部预约", "Eastern scenic areas")

    def ready(self) -> None:
        from jiaoguan.eastern import tasks  # noqa: F401 - periodic jobs
