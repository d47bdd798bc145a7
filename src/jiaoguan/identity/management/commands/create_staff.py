"""Create a staff account from the command line: the first administrator of a new installation.

    manage.py create_staff --username admin01 --display-name "管理员" [--role admin] [--phone 139…]

The password comes from --password, else the JIAOGUAN_STAFF_PASSWORD environment variable, else a prompt.
Later staff accounts are created by an administrator in the console (identity.services.staff_create).
"""
from __future__ import annotations

import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.core.errors import DomainError
from jiaoguan.identity.roles import STAFF_ROLES, Role
from jiaoguan.identity.services import staff_bootstrap


class Command(BaseCommand):
    help = "Create a staff account (by default an administrator)."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--display-name", required=True)
        parser.add_argument("--role", default=Role.ADMIN, choices=sorted(str(r) for r in STAFF_ROLES))
        parser.add_argument("--phone", default=None)
        parser.add_argument("--password", default=None, help="prefer JIAOGUAN_STAFF_PASSWORD or the prompt")

    def handle(self, *args, **opts):
        password = opts["password"] or os.environ.get("JIAOGUAN_STAFF_PASSWORD")
        if not password:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ.")
        try:
            user = staff_bootstrap(username=opts["username"], display_name=opts["display_name"], role=opts["role"],
                                   password=password, phone=opts["phone"])
        except DomainError as err:
            details = "; ".join(f"{k}: {v}" for k, v in err.field_messages("en").items())
            raise CommandError(f"{err.en}{' (' + details + ')' if details else ''}") from err
        self.stdout.write(self.style.SUCCESS(f"Created {user.role} account {user.username}."))
