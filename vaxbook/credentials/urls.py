from django.urls import path

from vaxbook.credentials import views

urlpatterns = [
    path(".well-known/jwks.json", views.jwks, name="jwks"),
    path("certificate/", views.certificate, name="certificate"),
    path("verify/", views.verify_certificate, name="verify_certificate"),
    path("certificate/print/", views.certificate_print, name="certificate_print"),
    path(
        "certificate/vaccination.smart-health-card",
        views.certificate_file,
        name="certificate_file",
    ),
    path(
        "appointments/<uuid:appointment_id>/vaccination.smart-health-card",
        views.dose_certificate_file,
        name="dose_certificate_file",
    ),
]
