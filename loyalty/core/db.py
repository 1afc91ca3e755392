"""Database helpers the ORM does not offer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from django.db import connection, models


def bulk_insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert these new rows in one statement, without reading their ids back.

    On PostgreSQL the values are bound on the server: Django's `bulk_create` binds on the
    client and, since 5.2, sends many rows as arrays whose text it escapes character by
    character in Python, which for rows carrying JSON (an order's facts) costs more than the
    rest of their processing. Elsewhere (SQLite in development) it is `bulk_create`."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    row = f"({', '.join(['%s'] * len(fields))})"
    params = [
        field.get_db_prep_save(field.pre_save(obj, add=True), connection)
        for obj in objs
        for field in fields
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    # Only the model's own table and column names and placeholders make up the text.
    sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(objs))}"  # noqa: S608
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=False)


def update_by_id(
    *,
    table: str,
    per_row: dict[str, dict[int, Any]],
    add: bool = False,
    same: str = "",
    same_params: Sequence[Any] = (),
) -> None:
    """Give many rows their own values in one statement: `column = CASE id WHEN ... END` for
    each column of `per_row` ({column: {id: value}}; with `add`, added to the column), plus
    `same` (SQL setting what every row gets, with `same_params`).

    Plain SQL: Django's `bulk_update` (Case/When expressions) costs more to build than the
    rest of a burst's batch. `table`, the columns and `same` are the caller's fixed text;
    every value is bound."""
    ids = sorted({pk for values in per_row.values() for pk in values})
    if not ids:
        return
    sets, params = [], []
    for column, values in per_row.items():
        whens = " ".join(["WHEN %s THEN %s"] * len(values))
        sets.append(f"{column} = {f'{column} + ' if add else ''}CASE id {whens} END")
        for pk, value in values.items():
            params += [pk, value]
    if same:
        sets.append(same)
        params += list(same_params)
    if connection.vendor != "postgresql":
        adapt = connection.ops.adapt_datetimefield_value
        params = [adapt(p) if isinstance(p, datetime) else p for p in params]
    placeholders = ", ".join(["%s"] * len(ids))
    sql = f"UPDATE {table} SET {', '.join(sets)} WHERE id IN ({placeholders})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *ids])
