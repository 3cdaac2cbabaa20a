"""A busy or absent service answers 503 with Retry-After, wherever it is hit; bugs stay 500."""

from http import HTTPStatus
from unittest import mock

import pytest
from django.db import OperationalError
from django.urls import reverse

from products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

LOCKED = OperationalError("database is locked")


@pytest.fixture
def page_client(client):
    client.raise_request_exception = False  # answer as a server would: through handler500
    return client


def test_a_locked_database_in_a_view_answers_503_with_retry_after(page_client):
    product = ProductFactory(stock=3)
    with mock.patch("carts.views.cart_add_product", side_effect=LOCKED):
        response = page_client.post(reverse("carts:add", args=[product.pk]), {"quantity": "1"})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "30"
    assert "Unavailable for a moment" in response.content.decode()


def test_a_locked_database_while_middleware_saves_the_session_answers_503(page_client):
    product = ProductFactory(stock=3)
    with mock.patch(
        "django.contrib.sessions.backends.cached_db.SessionStore.save", side_effect=LOCKED
    ):
        response = page_client.post(reverse("carts:add", args=[product.pk]), {"quantity": "1"})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "30"


def test_any_other_database_error_is_still_the_500_page(page_client):
    product = ProductFactory(stock=3)
    broken = OperationalError("no such table: carts_cart")
    with mock.patch("carts.views.cart_add_product", side_effect=broken):
        response = page_client.post(reverse("carts:add", args=[product.pk]), {"quantity": "1"})
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert "Retry-After" not in response


def _lost_postgres_connection() -> OperationalError:
    """What Django raises when PostgreSQL is away: its OperationalError from psycopg2's, here a
    real refused connection (nothing listens on the port)."""
    import psycopg2

    from myecommerce.tests.conftest import free_port

    try:
        psycopg2.connect(host="127.0.0.1", port=free_port(), user="x", connect_timeout=2)
    except psycopg2.OperationalError as cause:
        try:
            raise OperationalError(*cause.args) from cause
        except OperationalError as wrapped:
            return wrapped
    raise AssertionError("something listens on a free port")


def test_a_lost_postgresql_connection_in_a_view_answers_503(page_client):
    product = ProductFactory(stock=3)
    with mock.patch("carts.views.cart_add_product", side_effect=_lost_postgres_connection()):
        response = page_client.post(reverse("carts:add", args=[product.pk]), {"quantity": "1"})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "30"
    assert "Unavailable for a moment" in response.content.decode()


def test_a_closed_database_connection_in_middleware_answers_503(page_client):
    from django.db import InterfaceError

    product = ProductFactory(stock=3)
    closed = InterfaceError("connection already closed")
    with mock.patch(
        "django.contrib.sessions.backends.cached_db.SessionStore.save", side_effect=closed
    ):
        response = page_client.post(reverse("carts:add", args=[product.pk]), {"quantity": "1"})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "30"


def test_a_postgresql_error_from_the_server_that_is_not_a_lost_connection_stays_500(
    page_client,
):
    import psycopg2

    class Deadlock(psycopg2.OperationalError):
        pgcode = "40P01"  # deadlock_detected: a bug to fix, not an outage

    try:
        raise OperationalError("deadlock detected") from Deadlock("deadlock detected")
    except OperationalError as error:
        deadlock = error
    product = ProductFactory(stock=3)
    with mock.patch("carts.views.cart_add_product", side_effect=deadlock):
        response = page_client.post(reverse("carts:add", args=[product.pk]), {"quantity": "1"})
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
