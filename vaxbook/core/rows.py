"""Model instances from the columns of a hand-written SELECT, as the ORM would build them.

The booking path reads a few rows per request (the slot with its centre and vaccine, the
bearer token with its user and citizen). Compiling those queries through the ORM costs about
a millisecond of Python each, many times what the database takes to answer; these helpers
let a module write the SELECT once and still get ordinary model instances, converted by the
same converters the ORM applies (booleans and dates on SQLite, decimals, aware datetimes).
"""

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models

type _Converter = Callable[[Any, Any, Any], Any]


def columns(model: type[models.Model], alias: str) -> str:
    """`alias."column", ...` for every concrete field of `model`, in the model's order."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def width(model: type[models.Model]) -> int:
    """How many columns columns(model, ...) selects."""
    return len(model._meta.concrete_fields)


def instance[M: models.Model](model: type[M], row: Sequence[Any]) -> M:
    """The `model` instance whose columns (in columns() order) are `row`."""
    values = []
    for value, (column, converters) in zip(row, _converters(model), strict=True):
        for convert in converters:
            value = convert(value, column, connection)
        values.append(value)
    names = [field.attname for field in model._meta.concrete_fields]
    return model.from_db(connection.alias, names, values)


@functools.cache
def _converters(model: type[models.Model]) -> list[tuple[Any, list[_Converter]]]:
    out = []
    for field in model._meta.concrete_fields:
        column = field.get_col(model._meta.db_table)
        out.append(
            (column, connection.ops.get_db_converters(column) + field.get_db_converters(connection))
        )
    return out
