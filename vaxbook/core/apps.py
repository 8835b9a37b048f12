from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "vaxbook.core"
    label = "core"
