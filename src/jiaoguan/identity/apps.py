from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "jiaoguan.identity"
    label = "identity"
    verbose_name = "账户与实名 Identity"

    def ready(self) -> None:
        from jiaoguan.identity import handlers  # noqa: F401 - subscribes outbox handlers
