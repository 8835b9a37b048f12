from django.apps import AppConfig


class WaitingRoomConfig(AppConfig):
    name = "vaxbook.waiting_room"
    label = "waiting_room"
