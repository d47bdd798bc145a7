from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "jiaoguan.credentials"
    label = "credentials"
    verbose_name = "电子证照 E-credentials"

    def ready(self) -> None:
        from jiaoguan.credentials import handlers, tasks  # noqa: F401 - outbox handlers and periodic jobs
