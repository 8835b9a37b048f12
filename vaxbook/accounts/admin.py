from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from vaxbook.accounts.models import Citizen, StaffMembership, User


class EmailUserChangeForm(UserChangeForm[User]):
    class Meta:
        model = User
        fields = "__all__"


class EmailUserCreationForm(AdminUserCreationForm[User]):
    class Meta:
        model = User
        fields = ("email",)


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    ordering = ("email",)
    list_display = ("email", "is_staff", "is_superuser", "is_active", "date_joined")
    search_fields = ("email",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Citizen)
class CitizenAdmin(admin.ModelAdmin[Citizen]):
    list_display = ("full_name", "date_of_birth", "user")
    search_fields = ("full_name", "user__email")
    raw_id_fields = ("user",)


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin[StaffMembership]):
    list_display = ("user", "centre", "role")
    list_filter = ("role", "centre__town")
    search_fields = ("user__email", "centre__name")
    raw_id_fields = ("user", "centre")
