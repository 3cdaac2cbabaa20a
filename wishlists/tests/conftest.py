import pytest
from django.contrib.sessions.backends.db import SessionStore

from accounts.tests.factories import UserFactory
from products.tests.factories import ProductFactory


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def product(db):
    return ProductFactory(price="19.99", stock=10)


@pytest.fixture
def session(db):
    """A guest's session, as the session middleware would give a view."""
    store = SessionStore()
    store.create()
    return store
