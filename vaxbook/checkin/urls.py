from django.urls import path

from vaxbook.accounts import staff
from vaxbook.checkin import views

urlpatterns = [
    path("staff/", staff.staff_home, name="staff_home"),
    path("staff/sign-in/", staff.staff_sign_in, name="staff_sign_in"),
    path("staff/verify/", staff.staff_verify, name="staff_verify"),
    path("staff/centres/<int:centre_id>/validate/", views.validate_page, name="staff_validate"),
    path("staff/centres/<int:centre_id>/check-in/", views.check_in_page, name="staff_check_in"),
]
