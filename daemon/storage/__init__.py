"""SQL lives here and nowhere else: connections, migrations, one module per table."""


class DatabaseError(Exception):
    """The database cannot be used as it is (newer schema, corrupt file)."""
