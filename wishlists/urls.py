from django.urls import path

from . import views

app_name = "wishlists"

urlpatterns = [
    path("", views.WishlistDetailView.as_view(), name="detail"),
]
