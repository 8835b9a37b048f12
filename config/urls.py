from django.contrib import admin
from django.urls import include, path

from vaxbook.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("vaxbook.credentials.urls")),
    path("", include("vaxbook.accounts.urls")),
    path("", include("vaxbook.bookings.urls")),
    path("", include("vaxbook.centres.urls")),
    path("", include("vaxbook.checkin.urls")),
]
