from django.apps import AppConfig


class CentresConfig(AppConfig):
    name = "vaxbook.centres"
    label = "centres"
