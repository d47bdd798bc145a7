from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "jiaoguan.credentials"
    label = "credentials"
    verbose_name = "电子证照 E-credentials"

    def ready(self) -> None:
        # Production refuses to start without real signing keys: settings.py loads JIAOGUAN_CREDENTIAL_KEYS with
        # keys.load_signing_keys, beside the field keys.
        from jiaoguan.credentials import handlers, tasks  # noqa: F401 - outbox handlers and periodic jobs
