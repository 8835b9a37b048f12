from django.apps import AppConfig


class CentresConfig(AppConfig):
    name = "vaxbook.centres"
    label = "centres"

    def ready(self) -> None:
        from vaxbook.centres import availability

        availability.connect_model_signals()
