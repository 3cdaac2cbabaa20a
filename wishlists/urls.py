from django.urls import path

from . import views

app_name = "wishlists"

urlpatterns = [
    path("", views.WishlistDetailView.as_view(), name="detail"),
    path("add/<int:product_id>/", views.WishlistAddView.as_view(), name="add"),
    path("remove/<int:product_id>/", views.WishlistRemoveView.as_view(), name="remove"),
    path(
        "move-to-cart/<int:product_id>/",
        views.WishlistMoveToCartView.as_view(),
        name="move-to-cart",
    ),
]
