from django.urls import path

from vaxbook.management import views

CENTRE = "staff/centres/<int:centre_id>/manage/"

urlpatterns = [
    path("staff/manage/", views.manage_home, name="manage_home"),
    path("staff/centres/new/", views.centre_new, name="manage_centre_new"),
    path("staff/reports/", views.all_centres_report, name="all_reports"),
    path("staff/reports.csv", views.all_centres_report_csv, name="all_reports_csv"),
    path(CENTRE, views.centre_overview, name="manage_centre"),
    path(f"{CENTRE}details/", views.centre_edit, name="manage_centre_edit"),
    path(f"{CENTRE}hours/", views.opening_hours, name="manage_hours"),
    path(
        f"{CENTRE}hours/<int:template_id>/remove/",
        views.opening_hours_remove,
        name="manage_hours_remove",
    ),
    path(f"{CENTRE}generate/", views.generate, name="manage_generate"),
    path(f"{CENTRE}days/<str:day>/", views.day_page, name="manage_day"),
    path(f"{CENTRE}days/<str:day>/places/", views.day_places, name="manage_day_places"),
    path(f"{CENTRE}days/<str:day>/close/", views.day_close, name="manage_day_close"),
    path(f"{CENTRE}slots/<int:slot_id>/", views.slot_page, name="manage_slot"),
    path(f"{CENTRE}slots/<int:slot_id>/places/", views.slot_places, name="manage_slot_places"),
    path(f"{CENTRE}slots/<int:slot_id>/close/", views.slot_close, name="manage_slot_close"),
    path(f"{CENTRE}staff/", views.staff_page, name="manage_staff"),
    path(f"{CENTRE}report/", views.centre_report, name="manage_report"),
    path(f"{CENTRE}report.csv", views.centre_report_csv, name="manage_report_csv"),
    path(
        "staff/choose-password/<uidb64>/<token>/",
        views.SetPasswordView.as_view(),
        name="staff_set_password",
    ),
]
