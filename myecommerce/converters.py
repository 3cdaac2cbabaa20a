"""URL converters shared by every app's urls.py; importing this module registers them.

`<dbid:name>` matches a database id: a whole number from 1 to 2**63 - 1 (a BigAutoField's
range). Anything else is not a match, so the URL is a 404 before any view or query runs,
and views and services never check id bounds themselves.
"""

from django.urls import register_converter

MAX_DB_ID = 2**63 - 1


class DatabaseIdConverter:
    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 0 < number <= MAX_DB_ID:
            raise ValueError(f"{value} is not a database id")  # Django: no match, a 404
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))


register_converter(DatabaseIdConverter, "dbid")
