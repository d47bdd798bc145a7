from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "jiaoguan.notifications"
    label = "notifications"
    verbose_name = "消息通知 Notifications"
