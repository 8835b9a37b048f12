from django.urls import path

from vaxbook.waiting_list import staff_views, views

urlpatterns = [
    path("waiting-list/", views.entry_list, name="waiting_list"),
    path("waiting-list/join/", views.join, name="waiting_list_join"),
    path("waiting-list/<int:entry_id>/change/", views.change, name="waiting_list_change"),
    path("waiting-list/<int:entry_id>/leave/", views.leave, name="waiting_list_leave"),
    path("waiting-list/offers/<str:token>/", views.offer, name="waiting_list_offer"),
    path("staff/reports/waiting-list.csv", staff_views.report_csv, name="waiting_list_report_csv"),
]
