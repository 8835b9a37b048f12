from django.urls import path

from vaxbook.bookings import views

urlpatterns = [
    path("check/", views.check_eligibility, name="check_eligibility"),
    path("book/<int:slot_id>/", views.book, name="book"),
    path("book/<int:slot_id>/both-doses/", views.book_both, name="book_both"),
    path("appointments/", views.appointment_list, name="appointment_list"),
    path("appointments/<uuid:appointment_id>/", views.appointment_detail, name="appointment"),
    path("appointments/<uuid:appointment_id>/cancel/", views.cancel, name="cancel"),
    path("appointments/<uuid:appointment_id>/reschedule/", views.reschedule, name="reschedule"),
    path("appointments/<uuid:appointment_id>/qr.svg", views.appointment_qr, name="appointment_qr"),
    path(
        "appointments/<uuid:appointment_id>/calendar.ics",
        views.appointment_calendar,
        name="appointment_calendar",
    ),
]
