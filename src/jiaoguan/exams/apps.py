from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class ExamsConfig(AppConfig):
    name = "jiaoguan.exams"
    label = "exams"
    verbose_name = bi("考试预约", "Driving tests")

    def ready(self) -> None:
        from jiaoguan.exams import handlers  # noqa: F401 - outbox handlers
