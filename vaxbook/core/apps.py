from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "vaxbook.core"
    label = "core"

    def ready(self) -> None:
        from vaxbook.core import devices  # noqa: F401 (connects the sign-in signal)
