from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from config.api import api
from vaxbook.accounts import views as account_views
from vaxbook.core import public_pages
from vaxbook.core import views as core_views

# The admin asks for the second factor too (the code of the user's TOTP device).
admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico where a page names no icon (JSON, the API documents).
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("help/", public_pages.help_page, name="help"),
    path("privacy/", public_pages.privacy, name="privacy"),
    path("cookies/", public_pages.cookies, name="cookies"),
    path("accessibility/", public_pages.accessibility, name="accessibility"),
    path("admin/", admin.site.urls),
    # Django's language switch, which also keeps the choice on a citizen's account.
    path("i18n/setlang/", account_views.set_language, name="set_language"),
    path("api/v1/smart-scheduling/", include("vaxbook.centres.smart_urls")),
    # Plain views: the poll of an opening's crowd must cost as little as possible.
    path("api/v1/waiting-room/", include("vaxbook.waiting_room.api_urls")),
    path("api/v1/", api.urls),
    path("", include("vaxbook.credentials.urls")),
    path("", include("vaxbook.accounts.urls")),
    path("", include("vaxbook.bookings.urls")),
    path("", include("vaxbook.centres.urls")),
    path("", include("vaxbook.checkin.urls")),
    path("", include("vaxbook.management.urls")),
    path("", include("vaxbook.waiting_room.urls")),
    path("", include("vaxbook.waiting_list.urls")),
]

# Under /api/ these answer application/problem+json; elsewhere Django's own pages.
handler400 = "vaxbook.api.problems.bad_request"
handler403 = "vaxbook.api.problems.permission_denied"
handler404 = "vaxbook.api.problems.page_not_found"
handler500 = "vaxbook.api.problems.server_error"
