from django.conf import settings
from django.core.management.base import BaseCommand

from jiaoguan.notifications.fake_provider import main


class Command(BaseCommand):
    help = ("Run the local fake SMS provider (same as `python -m jiaoguan.notifications.fake_provider`); "
            "key defaults to JIAOGUAN_SMS_PROVIDER_KEY. 本地模拟短信通道。")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)
        parser.add_argument("--key", default=None)
        parser.add_argument("--name", default="fake")

    def handle(self, *args, host, port, key, name, **options):
        main(["--host", host, "--port", str(port), "--key", key or settings.JIAOGUAN_SMS_PROVIDER_KEY,
              "--name", name])
