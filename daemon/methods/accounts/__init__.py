"""accounts.*: `core` (list, get, create, update, delete, approve, reject, headers), `probe` (test,
test_many, folders) and `mailbox` (poll, purge_bounces); registered in methods/__init__.py."""
