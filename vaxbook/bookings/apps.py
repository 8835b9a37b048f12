from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "vaxbook.bookings"
    label = "bookings"
