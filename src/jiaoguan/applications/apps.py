from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "jiaoguan.applications"
    label = "applications"
    verbose_name = "办事申请 Applications"

    def ready(self) -> None:
        # the system check, outbox handlers and periodic jobs register themselves on import
        from jiaoguan.applications import checks, handlers, tasks  # noqa: F401
