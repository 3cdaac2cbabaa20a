"""The outbox is infrastructure under every app: it imports none of them (shop apps call it)."""

from myecommerce.tests.test_layering import ROOT, SHOP_APPS, offending, source_files


def test_the_outbox_imports_no_shop_app():
    found = {
        str(path.relative_to(ROOT)): offending(path, SHOP_APPS) for path in source_files("mailer")
    }
    assert {name: modules for name, modules in found.items() if modules} == {}
