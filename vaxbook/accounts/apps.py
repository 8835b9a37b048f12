from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "vaxbook.accounts"
    label = "accounts"
