from django.urls import path

from vaxbook.credentials import views

urlpatterns = [
    path(".well-known/jwks.json", views.jwks, name="jwks"),
]
