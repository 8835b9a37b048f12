from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "vaxbook.credentials"
    label = "credentials"
