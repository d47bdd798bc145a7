from django.apps import AppConfig


class ExamsConfig(AppConfig):
    name = "jiaoguan.exams"
    label = "exams"
    verbose_name = "考试预约 Driving tests"

    def ready(self) -> None:
        from jiaoguan.exams import handlers  # noqa: F401 - outbox handlers
