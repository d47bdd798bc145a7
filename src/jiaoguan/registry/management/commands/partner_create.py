"""manage.py partner_create --kind hospital --name 深圳市人民医院 [--name-en ...] --institution-code ...

Creates a partner of the signed partner API and prints its key id and secret. The secret is printed this once
(it is stored encrypted and never shown again; rotate it in the admin if it is lost)."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import DomainError
from jiaoguan.registry.models import Partner
from jiaoguan.registry.partners import partner_create


class Command(BaseCommand):
    help = "新建合作机构并显示其签名密钥（仅此一次）。Create a partner and print its signing key once."

    def add_arguments(self, parser):
        parser.add_argument("--kind", required=True, choices=Partner.Kind.values)
        parser.add_argument("--name", required=True, help="name in Chinese")
        parser.add_argument("--name-en", default="", help="name in English")
        parser.add_argument("--institution-code", default="",
                            help="a hospital's institution code (required for hospitals)")
        parser.add_argument("--actor", default="partner_create", help="who runs the command, for the audit log")

    def handle(self, *args, kind: str, name: str, name_en: str, institution_code: str, actor: str, **options):
        try:
            partner, secret = partner_create(kind=kind, name_zh=name, name_en=name_en,
                                             institution_code=institution_code, actor=Actor.system(f"cli:{actor}"))
        except DomainError as exc:
            raise CommandError(f"{exc.zh} / {exc.en}") from None
        self.stdout.write(f"partner  {partner.pk} {partner.name_zh}")
        self.stdout.write(f"key_id   {partner.key_id}")
        self.stdout.write(f"secret   {secret}")
        self.stdout.write("密钥只显示这一次，请安全地交给对方。The secret is shown only this once: hand it over safely.")
