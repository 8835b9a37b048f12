from django.urls import path

from vaxbook.centres import views

urlpatterns = [
    path("centres/", views.centre_search, name="centre_search"),
    path("centres/<int:centre_id>/", views.centre_day, name="centre_day"),
]
