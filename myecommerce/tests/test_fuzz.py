"""Generated bad input (hypothesis) against every form and query parameter in SPEC.md.

For each one: the answer is never a 5xx, a refused request changes no row, and whatever was
posted comes back escaped. Where a request may legitimately succeed (a valid quantity, a
complete address), the test says exactly which change is allowed and checks that nothing else
moved.

Each example runs in its own transaction: `hypothesis.extra.django.TestCase` wraps every
example (not just every test) in Django's per-test atomic block, and gives it a fresh client.
The example budget is the "ci" profile in conftest.py (30 examples, derandomized).
"""

import string
from http import HTTPStatus
from urllib.parse import urlencode

from django.urls import reverse
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.models import OneTimeCode, User
from accounts.services import PROFILE_FIELDS
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from carts.forms import CartAddForm, CartUpdateForm
from carts.models import CartItem
from carts.selectors import SESSION_CART_KEY
from carts.tests.factories import CartItemFactory
from orders.forms import ADDRESS_FIELDS, BILLING_PREFIX, CheckoutForm
from orders.models import Order
from orders.tests.factories import OrderFactory, checkout_data
from products.models import Product, StockMovement
from products.tests.factories import CategoryFactory, ProductFactory
from wishlists.models import WishlistItem
from wishlists.tests.factories import WishlistItemFactory

XSS = '<script>alert("xss")</script>'
NASTY = [
    "",
    " ",
    "0",
    "-1",
    "-0",
    "1.5",
    "2.0",
    "1e3",
    "1e309",
    "NaN",
    "inf",
    "-inf",
    "0x10",
    "1_000",
    "9" * 40,
    "-" + "9" * 40,
    "١٢",  # Arabic-Indic digits
    "１２",  # full-width digits
    "\x00",
    "1\x00",
    "a\x00b",
    "%00",
    "\u202e\u0635",
    "😀" * 20,
    "x" * 5000,
    XSS,
    f"ok{XSS}",
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE products_product; --",
    "' OR '1'='1",
    "{{ 7*7 }}",
    "{% debug %}",
    "${7*7}",
    "../../etc/passwd",
    "null",
    "None",
    "[]",
    "{}",
    "\r\nSet-Cookie: x=1",
    "a@b",
    "@",
    "me@example.com",
    "ME-000001",
]
hostile_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=300),
    st.integers().map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
)
# What a browser could send for a number: mostly numbers, often not.
hostile_number = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.integers(min_value=-3, max_value=12).map(str),
    hostile_text,
)
url_id = st.one_of(
    st.integers(min_value=0, max_value=10**30),
    st.sampled_from([0, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64]),
)
CHECKOUT_FIELDS = [
    *ADDRESS_FIELDS,
    "phone",
    *(BILLING_PREFIX + name for name in ADDRESS_FIELDS),
    "payment_method",
]
url_slug = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=80)


class ShopTestCase(TestCase):
    def assert_not_server_error(self, response):
        self.assertLess(response.status_code, 500, response.content[:500])

    def assert_escaped(self, response, *posted):
        html = response.content.decode(errors="replace")
        for value in posted:
            if "<script" in str(value) or "<img" in str(value):
                self.assertNotIn(XSS, html)
                self.assertNotIn("<img src=x", html)


def _user_row(pk: int) -> dict:
    return User.objects.values().get(pk=pk)


# ------------------------------------------------------------------------------
# Accounts
# ------------------------------------------------------------------------------
class AccountFormsFuzz(ShopTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.alice = UserFactory(username="alice", email="alice@example.com")
        cls.bob = UserFactory(username="bob", email="bob@example.com", email_verified=False)

    def snapshot(self):
        return {
            "users": list(User.objects.order_by("pk").values()),
            "codes": list(OneTimeCode.objects.order_by("pk").values("pk", "attempts", "used_at")),
        }

    @given(username=hostile_text, email=hostile_text, password1=hostile_text, same=st.booleans())
    def test_signup(self, username, email, password1, same):
        before = User.objects.count()
        data = {
            "username": username,
            "email": email,
            "password1": password1,
            "password2": password1 if same else password1 + "x",
        }
        response = self.client.post(reverse("accounts:signup"), data)
        self.assert_not_server_error(response)
        if response.status_code == HTTPStatus.FOUND:
            self.assertEqual(response["Location"], reverse("accounts:verify"))
            user = User.objects.get(username=username.strip())
            self.assertFalse(user.email_verified)
            self.assertEqual(User.objects.count(), before + 1)
        else:
            self.assertEqual(response.status_code, HTTPStatus.OK)
            self.assertEqual(User.objects.count(), before)
            self.assertFalse(OneTimeCode.objects.exists())
            self.assert_escaped(response, username, email)

    @given(username=hostile_text, password=hostile_text)
    def test_login(self, username, password):
        assume(password != DEFAULT_PASSWORD)
        before = self.snapshot()
        response = self.client.post(
            reverse("accounts:login"), {"username": username, "password": password}
        )
        self.assert_not_server_error(response)
        self.assertNotIn("_auth_user_id", self.client.session)
        self.assertEqual(self.snapshot()["users"], before["users"])
        self.assert_escaped(response, username)

    @given(code=hostile_text)
    def test_verify(self, code):
        self.client.post(
            reverse("accounts:login"), {"username": "bob", "password": DEFAULT_PASSWORD}
        )
        response = self.client.post(reverse("accounts:verify"), {"code": code})
        self.assert_not_server_error(response)
        self.assertFalse(User.objects.get(pk=self.bob.pk).email_verified)
        self.assertNotIn("_auth_user_id", self.client.session)
        self.assert_escaped(response, code)

    @given(email=hostile_text)
    def test_password_reset_request(self, email):
        response = self.client.post(reverse("accounts:password-reset"), {"email": email})
        self.assert_not_server_error(response)
        codes = OneTimeCode.objects.filter(purpose=OneTimeCode.Purpose.RESET)
        if email.strip().lower() == "alice@example.com":
            self.assertEqual(codes.count(), 1)
        else:
            self.assertFalse(codes.exists())
        self.assert_escaped(response, email)

    @given(code=hostile_text, password=hostile_text, same=st.booleans())
    def test_password_reset_confirm(self, code, password, same):
        self.client.post(reverse("accounts:password-reset"), {"email": "alice@example.com"})
        before = _user_row(self.alice.pk)
        response = self.client.post(
            reverse("accounts:password-reset-confirm"),
            {
                "code": code,
                "new_password1": password,
                "new_password2": password if same else password + "x",
            },
        )
        self.assert_not_server_error(response)
        self.assertEqual(_user_row(self.alice.pk), before)
        self.assert_escaped(response, code)

    @given(old=hostile_text, new1=hostile_text, same=st.booleans())
    def test_password_change(self, old, new1, same):
        assume(old != DEFAULT_PASSWORD)
        self.client.force_login(self.alice)
        before = _user_row(self.alice.pk)
        response = self.client.post(
            reverse("accounts:password-change"),
            {"old_password": old, "new_password1": new1, "new_password2": new1 if same else "z"},
        )
        self.assert_not_server_error(response)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(_user_row(self.alice.pk), before)

    @given(fields=st.fixed_dictionaries(dict.fromkeys([*PROFILE_FIELDS, "email"], hostile_text)))
    def test_profile(self, fields):
        self.client.force_login(self.alice)
        before = _user_row(self.alice.pk)
        response = self.client.post(reverse("accounts:profile"), fields)
        self.assert_not_server_error(response)
        after = _user_row(self.alice.pk)
        if response.status_code == HTTPStatus.OK:  # the form again: nothing saved
            self.assertEqual(after, before)
            self.assert_escaped(response, *fields.values())
        else:
            self.assertEqual(response.status_code, HTTPStatus.FOUND)
            self.assertEqual(after["first_name"], fields["first_name"].strip())
            self.assertEqual(after["email"], "alice@example.com")  # only after its code
            self.assert_escaped(self.client.get(reverse("accounts:profile")), *fields.values())

    @given(code=hostile_text)
    def test_email_verify(self, code):
        from accounts.services import email_change_request

        email_change_request(user=self.alice, new_email="new-alice@example.com")
        self.client.force_login(self.alice)
        response = self.client.post(reverse("accounts:email-verify"), {"code": code})
        self.assert_not_server_error(response)
        self.assertEqual(User.objects.get(pk=self.alice.pk).email, "alice@example.com")
        self.assert_escaped(response, code)


# ------------------------------------------------------------------------------
# Catalogue, cart, wishlist, checkout, orders
# ------------------------------------------------------------------------------
class ShopFormsFuzz(ShopTestCase):
    @classmethod
    def setUpTestData(cls):
        category = CategoryFactory(name="Kitchen", slug="kitchen")
        cls.mug = ProductFactory(name="Blue mug", price="12.50", stock=5, category=category)
        cls.sold_out = ProductFactory(name="Sold out", stock=0, category=category)
        cls.withdrawn = ProductFactory(name="Withdrawn", stock=5, is_active=False)
        cls.shopper = UserFactory(username="shopper")
        cls.line = CartItemFactory(cart__user=cls.shopper, product=cls.mug, quantity=2)
        WishlistItemFactory(user=cls.shopper, product=cls.sold_out)
        cls.order = OrderFactory(user=cls.shopper)

    def snapshot(self):
        return {
            "cart": list(CartItem.objects.order_by("pk").values_list("pk", "product", "quantity")),
            "wishlist": list(WishlistItem.objects.order_by("pk").values_list("user", "product")),
            "orders": list(Order.objects.order_by("pk").values_list("pk", "status")),
            "stock": list(Product.objects.order_by("pk").values_list("pk", "stock")),
            "movements": StockMovement.objects.count(),
        }

    @given(
        params=st.dictionaries(
            st.sampled_from(
                ["q", "category", "min_price", "max_price", "in_stock", "sort", "page"]
            ),
            hostile_number,
        )
    )
    def test_product_list_query(self, params):
        # A page number that is not one redirects to the page it means (issue 16.1).
        response = self.client.get(reverse("products:list"), params, follow=True)
        self.assert_not_server_error(response)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertLessEqual(len(response.redirect_chain), 1)
        self.assert_escaped(response, *params.values())

    @given(query=hostile_text)
    def test_search_on_category_and_home_pages(self, query):
        for url in [reverse("products:category", args=["kitchen"]), reverse("products:home")]:
            response = self.client.get(url, {"q": query, "page": query})
            self.assert_not_server_error(response)
            self.assert_escaped(response, query)

    @given(quantity=hostile_number, signed_in=st.booleans())
    def test_add_to_cart_quantity(self, quantity, signed_in):
        if signed_in:
            self.client.force_login(self.shopper)
        before = self.snapshot()
        response = self.client.post(
            reverse("carts:add", args=[self.mug.pk]), {"quantity": quantity}
        )
        self.assert_not_server_error(response)
        self.assertEqual(response.status_code, HTTPStatus.FOUND)
        form = CartAddForm({"quantity": quantity})
        held = 2 if signed_in else 0
        allowed = form.is_valid() and held + form.cleaned_data["quantity"] <= self.mug.stock
        after = self.snapshot()
        if signed_in:
            expected = held + form.cleaned_data["quantity"] if allowed else held
            self.assertEqual(CartItem.objects.get(pk=self.line.pk).quantity, expected)
            self.assertEqual(after["cart"][1:], before["cart"][1:])
        else:
            self.assertEqual(after, before)
            in_session = self.client.session.get(SESSION_CART_KEY, {})
            self.assertEqual(
                in_session, {str(self.mug.pk): form.cleaned_data["quantity"]} if allowed else {}
            )
        self.assertEqual(after["stock"], before["stock"])

    @given(quantity=hostile_number)
    def test_cart_set_quantity(self, quantity):
        self.client.force_login(self.shopper)
        before = self.snapshot()
        response = self.client.post(
            reverse("carts:update", args=[self.line.product_id]), {"quantity": quantity}
        )
        self.assert_not_server_error(response)
        form = CartUpdateForm({"quantity": quantity})
        lines = CartItem.objects.filter(pk=self.line.pk)
        if not form.is_valid() or form.cleaned_data["quantity"] > self.mug.stock:
            self.assertEqual(self.snapshot(), before)
        elif form.cleaned_data["quantity"] == 0:
            self.assertFalse(lines.exists())
        else:
            self.assertEqual(lines.get().quantity, form.cleaned_data["quantity"])

    @given(item_id=url_id, product_id=url_id, number=url_slug, slug=url_slug)
    def test_ids_and_numbers_in_urls(self, item_id, product_id, number, slug):
        assume(number != self.order.number)
        self.client.force_login(self.shopper)
        before = self.snapshot()
        known = {self.mug.pk, self.sold_out.pk, self.withdrawn.pk}
        posts = [
            reverse("carts:update", args=[item_id]),
            reverse("carts:remove", args=[item_id]),
            reverse("carts:add", args=[product_id]),
            reverse("wishlists:add", args=[product_id]),
            reverse("wishlists:remove", args=[product_id]),
            reverse("wishlists:move-to-cart", args=[product_id]),
            reverse("orders:cancel", args=[number]),
        ]
        for url in posts:
            response = self.client.post(url, {"quantity": "1"})
            self.assert_not_server_error(response)
        for url in [
            reverse("orders:detail", args=[number]),
            reverse("products:detail", args=[slug]),
            reverse("products:category", args=[slug]),
        ]:
            self.assert_not_server_error(self.client.get(url))
        if item_id not in known and product_id not in known:
            self.assertEqual(self.snapshot(), before)

    @given(
        fields=st.fixed_dictionaries(dict.fromkeys(CHECKOUT_FIELDS, hostile_text)),
        billing_same=st.sampled_from(["on", "", "off", "1", XSS]),
        token=st.one_of(st.none(), hostile_text),
    )
    def test_checkout(self, fields, billing_same, token):
        self.client.force_login(self.shopper)
        page = self.client.get(reverse("orders:checkout"))
        live_token = page.context["checkout_token"]
        data = {**fields, "billing_same_as_shipping": billing_same}
        data["checkout_token"] = live_token if token is None else token
        before = self.snapshot()
        response = self.client.post(reverse("orders:checkout"), data)
        self.assert_not_server_error(response)
        form = CheckoutForm(data)
        placed = Order.objects.exclude(pk=self.order.pk)
        if form.is_valid() and form.cleaned_data["checkout_token"] == live_token:
            order = placed.get()
            self.assertEqual(order.items.get().quantity, 2)
            self.assertEqual(Product.objects.get(pk=self.mug.pk).stock, 3)
            self.assertRedirects(response, order.get_absolute_url(), fetch_redirect_response=False)
            detail = self.client.get(order.get_absolute_url())
            self.assert_escaped(detail, *fields.values())
        else:
            self.assertEqual(self.snapshot(), before)
            self.assertFalse(placed.exists())
            self.assert_escaped(response, *fields.values())

    @given(method=hostile_text)
    def test_checkout_payment_method(self, method):
        assume(method not in Order.PaymentMethod.values)
        self.client.force_login(self.shopper)
        data = checkout_data(self.client, payment_method=method)
        before = self.snapshot()
        response = self.client.post(reverse("orders:checkout"), data)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("payment_method", response.context["form"].errors)
        self.assertEqual(self.snapshot(), before)
        self.assert_escaped(response, method)

    @given(other_data=st.dictionaries(hostile_text, hostile_text, max_size=5))
    def test_order_cancel_ignores_any_posted_data(self, other_data):
        self.client.force_login(self.shopper)
        # As a browser posts a form (urlencoded): Django rightly answers a multipart part whose
        # headers pass 10 KB (a field name of 10,000 characters) with 400 before any view runs.
        response = self.client.post(
            reverse("orders:cancel", args=[self.order.number]),
            urlencode(other_data),
            content_type="application/x-www-form-urlencoded",
        )
        self.assertEqual(response.status_code, HTTPStatus.FOUND)
        self.assertEqual(Order.objects.get(pk=self.order.pk).status, Order.Status.CANCELLED)
