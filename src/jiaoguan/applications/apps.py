from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "jiaoguan.applications"
    label = "applications"
    verbose_name = "办事申请 Applications"

    def ready(self) -> None:
        from jiaoguan.applications import handlers, tasks  # noqa: F401 - outbox handlers and periodic jobs
