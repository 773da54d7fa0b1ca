"""SQL lives here and nowhere else: connections, migrations, one module per table."""


class DatabaseError(Exception):
    """The database cannot be used as it is (newer schema, corrupt file)."""


class DiskFull(Exception):
    """A write failed because the database's disk (or its quota) is full; nothing of it was kept.
    Writes work again by themselves once there is room: nothing needs restarting."""


async def page(conn, table: str, columns: str, clauses: list[str], args: list, order_by: str, limit: int,
               offset: int) -> tuple[int, list]:
    """(how many rows match, one page of them): the lists' shared shape."""
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    total = (await conn.execute_fetchall(f"SELECT count(*) FROM {table}{where}", args))[0][0]
    rows = await conn.execute_fetchall(
        f"SELECT {columns} FROM {table}{where} ORDER BY {order_by} LIMIT ? OFFSET ?", (*args, limit, offset)
    )
    return total, list(rows)
