from django.urls import path

from vaxbook.waiting_room import staff_views, views

urlpatterns = [
    path("waiting-room/", views.room, name="waiting_room"),
    path("waiting-room/status", views.status, name="waiting_room_status"),
    path("staff/waiting-room/", staff_views.live, name="waiting_room_live"),
]
