from django.apps import AppConfig


class WaitingListConfig(AppConfig):
    name = "vaxbook.waiting_list"
    label = "waiting_list"
