from django.urls import path

import myecommerce.converters  # noqa: F401 (registers <dbid:…>)

from . import views

app_name = "carts"

# A cart line is named by its product id, for guests and signed-in users alike.
urlpatterns = [
    path("", views.CartDetailView.as_view(), name="detail"),
    path("add/<dbid:product_id>/", views.CartAddView.as_view(), name="add"),
    path("items/<dbid:product_id>/update/", views.CartUpdateView.as_view(), name="update"),
    path("items/<dbid:product_id>/remove/", views.CartRemoveView.as_view(), name="remove"),
]
