from django.urls import path

import myecommerce.converters  # noqa: F401 (registers <dbid:…>)

from . import views

app_name = "wishlists"

urlpatterns = [
    path("", views.WishlistDetailView.as_view(), name="detail"),
    path("add/<dbid:product_id>/", views.WishlistAddView.as_view(), name="add"),
    path("remove/<dbid:product_id>/", views.WishlistRemoveView.as_view(), name="remove"),
    path(
        "move-to-cart/<dbid:product_id>/",
        views.WishlistMoveToCartView.as_view(),
        name="move-to-cart",
    ),
]
