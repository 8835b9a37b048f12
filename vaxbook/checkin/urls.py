from django.urls import path

from vaxbook.accounts import staff
from vaxbook.audit import views as audit_views
from vaxbook.checkin import offline, views, walk_in_views

urlpatterns = [
    path("staff/", staff.staff_home, name="staff_home"),
    path("staff/sign-in/", staff.staff_sign_in, name="staff_sign_in"),
    path("staff/verify/", staff.staff_verify, name="staff_verify"),
    path("staff/authenticator/", staff.staff_enrol, name="staff_enrol"),
    path("staff/centres/<int:centre_id>/validate/", views.validate_page, name="staff_validate"),
    path("staff/centres/<int:centre_id>/check-in/", views.check_in_page, name="staff_check_in"),
    path("staff/centres/<int:centre_id>/day/", views.day_page, name="staff_day"),
    path("staff/centres/<int:centre_id>/day/no-shows/", views.no_shows_page, name="staff_no_shows"),
    path(
        "staff/centres/<int:centre_id>/walk-in/", walk_in_views.walk_in_page, name="staff_walk_in"
    ),
    path(
        "staff/centres/<int:centre_id>/appointments/<uuid:appointment_id>/vaccination/",
        views.record_dose_page,
        name="staff_record_dose",
    ),
    path("staff/centres/<int:centre_id>/audit/", audit_views.centre_log_page, name="staff_audit"),
    path("staff/centres/<int:centre_id>/day.json", offline.day_json, name="staff_day_json"),
    path(
        "staff/centres/<int:centre_id>/check-ins.json",
        offline.check_ins_json,
        name="staff_check_ins_json",
    ),
]
