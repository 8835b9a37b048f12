from django.urls import path

from vaxbook.waiting_list import views

urlpatterns = [
    path("waiting-list/", views.entry_list, name="waiting_list"),
    path("waiting-list/join/", views.join, name="waiting_list_join"),
    path("waiting-list/<int:entry_id>/change/", views.change, name="waiting_list_change"),
    path("waiting-list/<int:entry_id>/leave/", views.leave, name="waiting_list_leave"),
    path("waiting-list/offers/<str:token>/", views.offer, name="waiting_list_offer"),
]
