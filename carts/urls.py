from django.urls import path

from . import views

app_name = "carts"

# For a guest, <item_id> is the product id of the line; for a signed-in user, the CartItem pk.
urlpatterns = [
    path("", views.CartDetailView.as_view(), name="detail"),
    path("add/<int:product_id>/", views.CartAddView.as_view(), name="add"),
    path("items/<int:item_id>/update/", views.CartUpdateView.as_view(), name="update"),
    path("items/<int:item_id>/remove/", views.CartRemoveView.as_view(), name="remove"),
]
