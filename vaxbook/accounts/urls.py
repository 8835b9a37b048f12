from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from vaxbook.accounts import forms, people_views, phone_line_views, views
from vaxbook.core.ratelimit import (
    limit_posts,
    password_confirmation_limits,
    password_reset_limits,
    register_limits,
    sign_in_limits,
)

urlpatterns = [
    path("register/", limit_posts(register_limits)(views.register), name="register"),
    path("register/check-email/", views.registration_sent, name="registration_sent"),
    path(
        "register/confirm/<str:token>/",
        limit_posts(register_limits)(views.confirm_registration),
        name="confirm_registration",
    ),
    path(
        "sign-in/",
        limit_posts(sign_in_limits)(views.SignInView.as_view(authentication_form=forms.SignInForm)),
        name="sign_in",
    ),
    # Django's LogoutView signs out on POST only; a GET is 405, so no link or image can
    # sign anyone out.
    path("sign-out/", auth_views.LogoutView.as_view(), name="sign_out"),
    path("account/", views.account, name="account"),
    path("account/details/", views.change_details, name="change_details"),
    path("account/people/", people_views.people_page, name="people"),
    path(
        "account/people/<int:person_id>/takeover-code/",
        people_views.send_takeover_code,
        name="send_takeover_code",
    ),
    path("account/take-over/", people_views.take_over, name="take_over"),
    path("staff/phone/", phone_line_views.phone_home, name="phone_home"),
    path("staff/phone/people/new/", phone_line_views.phone_create, name="phone_create"),
    path("staff/phone/people/<int:person_id>/", phone_line_views.phone_person, name="phone_person"),
    path(
        "staff/phone/people/<int:person_id>/centres/<int:centre_pk>/",
        phone_line_views.phone_book,
        name="phone_book",
    ),
    path(
        "staff/phone/appointments/<uuid:appointment_id>/move/",
        phone_line_views.phone_move,
        name="phone_move",
    ),
    path(
        "staff/phone/appointments/<uuid:appointment_id>/cancel/",
        phone_line_views.phone_cancel,
        name="phone_cancel",
    ),
    path(
        "staff/phone/appointments/<uuid:appointment_id>/letter/",
        phone_line_views.phone_letter,
        name="phone_letter",
    ),
    path("account/data.json", views.data_export, name="data_export"),
    path(
        "account/delete/",
        limit_posts(password_confirmation_limits)(views.delete_account),
        name="delete_account",
    ),
    path(
        "account/password/",
        auth_views.PasswordChangeView.as_view(
            template_name="accounts/password_change.html",
            form_class=forms.PasswordChangeForm,
            success_url=reverse_lazy("password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "account/password/changed/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="accounts/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path(
        "password-reset/",
        # The form enqueues the email for the worker (accounts/tasks.py).
        limit_posts(password_reset_limits)(
            auth_views.PasswordResetView.as_view(
                template_name="accounts/password_reset.html",
                form_class=forms.PasswordResetForm,
                success_url=reverse_lazy("password_reset_sent"),
            )
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_sent.html"),
        name="password_reset_sent",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            form_class=forms.SetPasswordForm,
            success_url=reverse_lazy("password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]
