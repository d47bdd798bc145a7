"""Jiaoguan (交管): a city's traffic-police public services online."""
from jiaoguan.celery import app as celery_app

__all__ = ["celery_app"]
