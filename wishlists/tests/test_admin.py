from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from wishlists.tests.factories import WishlistItemFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:wishlists_wishlistitem_changelist")


def test_wishlist_changelist_and_read_only_change_page_load(admin_client):
    item = WishlistItemFactory()

    response = admin_client.get(CHANGELIST, {"q": item.product.sku})

    assert response.status_code == HTTPStatus.OK
    assert list(response.context["cl"].result_list) == [item]
    change = admin_client.get(reverse("admin:wishlists_wishlistitem_change", args=[item.pk]))
    assert change.status_code == HTTPStatus.OK
    assert b'name="_save"' not in change.content


def test_wishlist_changelist_runs_a_fixed_number_of_queries(admin_client):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(CHANGELIST).status_code == HTTPStatus.OK
        return len(queries)

    WishlistItemFactory.create_batch(5)
    few = count_queries()
    WishlistItemFactory.create_batch(95)
    assert count_queries() == few
