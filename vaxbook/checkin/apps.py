from django.apps import AppConfig


class CheckinConfig(AppConfig):
    name = "vaxbook.checkin"
    label = "checkin"
