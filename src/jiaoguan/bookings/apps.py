from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "jiaoguan.bookings"
    label = "bookings"
    verbose_name = "预约容量 Bookings"

    def ready(self) -> None:
        from jiaoguan.bookings import handlers, tasks  # noqa: F401 - outbox handlers and periodic jobs
