from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from vaxbook.accounts.models import Citizen, StaffMembership, User


class EmailUserChangeForm(UserChangeForm[User]):
    class Meta:
        model = User
        fields = "__all__"


class EmailUserCreationForm(AdminUserCreationForm[User]):
    class Meta:
        model = User
        fields = ("email",)


class StaffMembershipInline(admin.TabularInline[StaffMembership, User]):
    model = StaffMembership
    extra = 0
    autocomplete_fields = ("centre",)


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    ordering = ("email",)
    list_display = ("email", "is_staff", "is_superuser", "is_active", "date_joined", "last_login")
    list_filter = ("is_superuser", "is_staff", "is_active", "memberships__role")
    search_fields = ("email", "citizen__full_name")
    inlines = (StaffMembershipInline,)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Citizen)
class CitizenAdmin(admin.ModelAdmin[Citizen]):
    list_display = ("full_name", "date_of_birth", "priority_group", "user")
    list_filter = ("priority_group", "language")
    search_fields = ("full_name", "user__email")
    raw_id_fields = ("user",)


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin[StaffMembership]):
    list_display = ("user", "centre", "town", "role")
    list_filter = ("role", "centre__town", "centre")
    search_fields = ("user__email", "centre__name", "centre__town")
    list_select_related = ("user", "centre")
    autocomplete_fields = ("user", "centre")
    ordering = ("centre__name", "user__email")

    @admin.display(description=_("town"), ordering="centre__town")
    def town(self, membership: StaffMembership) -> str:
        return membership.centre.town
