"""The Django admin's branding: it is vaxbook's administration, for the health authority's
administrators; centre staff sign in at /staff/ (the admin's login page says so)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("vaxbook administration")
admin.site.site_title = _("vaxbook administration")
admin.site.index_title = _("Campaign policy, messages and audit log")
# django-otp's sign-in page (with the code field), with a line saying where staff sign in.
admin.site.login_template = "admin/vaxbook_login.html"
