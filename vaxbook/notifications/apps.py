from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "vaxbook.notifications"
    label = "notifications"
