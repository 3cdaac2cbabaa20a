"""The layering of the code, checked from the imports themselves (parsed, never run).

Bottom to top: the kernel (the myecommerce package but its top layer), then accounts,
products, carts, wishlists and orders, then the top layer (urls, the admin dashboard,
settings). A module may import from its own layer or below, never above: see
myecommerce/__init__.py. Tests are free to import anything.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOP_APPS = ("accounts", "products", "carts", "wishlists", "orders")
# The myecommerce modules above every app; the rest of the package is the kernel.
TOP_LAYER = {"urls.py", "admin.py", "apps.py", "settings.py", "wsgi.py", "asgi.py"}
# What each app may not import (besides the top layer, which nothing imports).
FORBIDDEN = {
    "accounts": {"products", "carts", "wishlists", "orders"},
    "products": {"carts", "wishlists", "orders"},
    "carts": {"wishlists", "orders"},
    "wishlists": {"orders"},
}
TOP_MODULES = {f"myecommerce.{name.removesuffix('.py')}" for name in TOP_LAYER}


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function (relative imports are
    resolved against the file's package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def source_files(package: str) -> list[Path]:
    return sorted(
        path
        for path in (ROOT / package).rglob("*.py")
        if "tests" not in path.relative_to(ROOT).parts
        and "migrations" not in path.relative_to(ROOT).parts
    )


def kernel_files() -> list[Path]:
    return [path for path in source_files("myecommerce") if path.name not in TOP_LAYER]


def offending(path: Path, packages) -> list[str]:
    return sorted(
        module
        for module in imported_modules(path)
        if module.split(".")[0] in packages or module in TOP_MODULES
    )


def test_the_kernel_imports_no_shop_app_and_not_the_top_layer():
    files = kernel_files()
    assert {path.name for path in files} >= {"tasks.py", "validators.py", "middleware.py"}
    found = {str(path.relative_to(ROOT)): offending(path, SHOP_APPS) for path in files}
    assert {name: modules for name, modules in found.items() if modules} == {}


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_an_app_imports_no_app_above_it_nor_the_top_layer(app):
    found = {
        str(path.relative_to(ROOT)): offending(path, FORBIDDEN[app]) for path in source_files(app)
    }
    assert {name: modules for name, modules in found.items() if modules} == {}


def test_the_rules_catch_an_import_of_an_app_above(tmp_path, monkeypatch):
    """The checker itself sees top-level, nested and relative imports."""
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "accounts").mkdir()
    module = tmp_path / "accounts" / "views.py"
    module.write_text(
        "from .models import User\n"
        "def view():\n"
        "    from orders.selectors import orders_newest\n"
        "    import carts.services\n"
        "    from myecommerce import urls\n"
    )
    assert offending(module, FORBIDDEN["accounts"]) == [
        "carts.services",
        "myecommerce.urls",
        "orders.selectors",
        "orders.selectors.orders_newest",
    ]
