"""WSGI entry point (gunicorn jiaoguan.wsgi)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiaoguan.settings")
application = get_wsgi_application()
