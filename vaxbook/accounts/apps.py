from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "vaxbook.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Marks, at each sign-in, the sessions that must still give a staff member's code.
        from vaxbook.accounts import second_step  # noqa: F401
