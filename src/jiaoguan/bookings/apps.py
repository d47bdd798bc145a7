from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class BookingsConfig(AppConfig):
    name = "jiaoguan.bookings"
    label = "bookings"
    verbose_name = bi("预约容量", "Bookings")

    def ready(self) -> None:
        from jiaoguan.bookings import handlers, tasks  # noqa: F401 - outbox handlers and periodic jobs
