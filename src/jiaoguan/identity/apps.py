from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class IdentityConfig(AppConfig):
    name = "jiaoguan.identity"
    label = "identity"
    verbose_name = bi("账户与实名", "Identity")

    def ready(self) -> None:
        from jiaoguan.identity import handlers  # noqa: F401 - subscribes outbox handlers
