from django.apps import AppConfig


class EasternConfig(AppConfig):
    name = "jiaoguan.eastern"
    label = "eastern"
    verbose_name = "东部预约 Eastern scenic areas"

    def ready(self) -> None:
        from jiaoguan.eastern import tasks  # noqa: F401 - periodic jobs
