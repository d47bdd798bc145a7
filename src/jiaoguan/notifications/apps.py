from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class NotificationsConfig(AppConfig):
    name = "jiaoguan.notifications"
    label = "notifications"
    verbose_name = bi("消息通知", "Notifications")
