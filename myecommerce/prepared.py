"""Queries whose SQL the ORM writes once, for the few that run on (nearly) every request.

Building the SQL of a small query costs the ORM several times what running it costs, so a
`PreparedQuery` builds it the first time and then only swaps in the one value that changes
(a user id, say). Use it for hot-path lookups only; everywhere else, write plain querysets.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.db import connections
from django.db.models import Model, QuerySet

# Stands in for the changing value while the ORM writes the SQL; an id no row ever has.
MARK = -424242


class PreparedQuery:
    def __init__(self, build: Callable[[int], QuerySet]):
        """`build(value)` returns the queryset for one value; it is called once, with MARK."""
        self._build = build

    @functools.cached_property
    def _compiled(self) -> tuple[type[Model], str, str, tuple]:
        queryset = self._build(MARK)
        sql, params = queryset.query.sql_with_params()
        if MARK not in params:
            raise ValueError("the queryset must use the value it is built with")
        return queryset.model, queryset.db, sql, params

    def _sql_and_params(self, value: int) -> tuple[str, list]:
        _model, _db, sql, params = self._compiled
        return sql, [value if param == MARK else param for param in params]

    def rows(self, value: int) -> list[tuple]:
        """The result rows as tuples (for `values_list` querysets)."""
        sql, params = self._sql_and_params(value)
        with connections[self._compiled[1]].cursor() as cursor:
            cursor.execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()]

    def first(self, value: int) -> Model | None:
        """The first row as a model instance, annotations as attributes (raw values), or None."""
        model, db, _sql, _params = self._compiled
        sql, params = self._sql_and_params(value)
        return next(iter(model._default_manager.db_manager(db).raw(sql, params)), None)
