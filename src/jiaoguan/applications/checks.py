"""System check: the service catalogue must load (runs with manage.py check, migrate, runserver, …)."""
from django.core import checks

from jiaoguan.applications import catalogue


@checks.register("applications")
def catalogue_consistent(app_configs=None, **kwargs):
    try:
        catalogue.catalogue_load()
    except catalogue.CatalogueError as exc:
        return [checks.Error(problem, id="applications.E001",
                             hint="Fix the declaration (see src/jiaoguan/applications/README.md)")
                for problem in exc.problems]
    return []
