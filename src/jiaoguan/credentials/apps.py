import logging

from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "jiaoguan.credentials"
    label = "credentials"
    verbose_name = "电子证照 E-credentials"

    def ready(self) -> None:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        from jiaoguan.credentials import handlers, signing, tasks  # noqa: F401 - outbox handlers and periodic jobs

        # Production must have real signing keys (keys.py). The refusal to start belongs in settings.py beside the
        # field keys (settings.JIAOGUAN_CREDENTIAL_KEYS = keys.load_signing_keys(...)); until the settings load
        # them, a missing key is reported loudly here and every issue/verify raises ImproperlyConfigured.
        if getattr(settings, "PRODUCTION", False) and not getattr(settings, "JIAOGUAN_CREDENTIAL_KEYS", None):
            try:
                signing.keys()
            except ImproperlyConfigured as exc:
                logging.getLogger(__name__).critical("e-credentials cannot be signed: %s", exc)
