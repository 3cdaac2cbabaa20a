import re
from http import HTTPStatus
from unittest import mock

from django.db import DatabaseError
from django.urls import reverse

from accounts.tests.factories import UserFactory


def test_healthz_answers_ok_after_a_database_round_trip(client, db, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get(reverse("healthz"))
    assert response.status_code == HTTPStatus.OK
    assert response.content == b"ok"


def test_healthz_answers_503_when_the_database_is_down(client, db):
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=DatabaseError):
        response = client.get(reverse("healthz"))
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE


def test_healthz_refuses_post(client):
    assert client.post(reverse("healthz")).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_base_layout_has_navbar_bootstrap_from_our_static_and_footer(client, db):
    response = client.get(reverse("products:home"))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "/static/bootstrap/css/bootstrap.min.css" in html
    assert "/static/bootstrap/js/bootstrap.bundle.min.js" in html
    assert 'name="q"' in html  # search box
    assert reverse("carts:detail") in html
    assert reverse("wishlists:detail") in html
    assert reverse("accounts:login") in html and reverse("accounts:signup") in html
    assert "<footer" in html
    # Nothing is loaded from another host.
    assert "cdn" not in html.lower()
    # Only the canonical link names this very site by its absolute URL, as search engines want.
    assert 'src="http' not in html
    assert re.findall(r'href="(http[^"]*)"', html) == ["http://testserver/"]
    assert '<link rel="canonical" href="http://testserver/">' in html


def test_navbar_shows_the_account_menu_when_signed_in(client, db):
    user = UserFactory(username="alice")
    client.force_login(user)
    html = client.get(reverse("products:home")).content.decode()
    assert "alice" in html
    assert reverse("accounts:logout") in html
    assert reverse("accounts:signup") not in html


def test_unknown_page_gets_the_friendly_404(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "Page not found" in response.content.decode()


def test_static_files_are_served_by_whitenoise_in_debug(client, settings):
    from django.test import override_settings

    # whitenoise reads its configuration when the middleware is built, so build it here.
    from whitenoise.middleware import WhiteNoiseMiddleware

    with override_settings(DEBUG=True, WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True):
        middleware = WhiteNoiseMiddleware(get_response=lambda request: None)
        from django.test import RequestFactory

        response = middleware(RequestFactory().get("/static/bootstrap/css/bootstrap.min.css"))
    assert response is not None and response.status_code == HTTPStatus.OK
