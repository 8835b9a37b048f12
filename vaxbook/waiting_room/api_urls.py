"""The waiting room's API, mounted at /api/v1/waiting-room/ before the ninja API."""

from django.urls import path

from vaxbook.waiting_room import api

urlpatterns = [
    path("tickets", api.tickets, name="waiting_room_tickets"),
    path("tickets/current", api.current, name="waiting_room_current"),
]
