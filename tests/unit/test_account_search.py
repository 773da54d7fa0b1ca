"""The account list's search in storage, on a real database file: every query length answers exactly
what a substring test in Python answers, for every caller, after renames and deletes too."""

from __future__ import annotations

import itertools

import pytest

from mailfleet.daemon.storage import account_search
from mailfleet.daemon.storage import accounts as account_store
from mailfleet.daemon.storage.db import Database

NAMES = [
    ("Ørsted Nord", "nord@orsted.example"),  # non-ASCII, folded like the index folds it
    ("Sales", "sales@acme.example"),
    ("No reply", "noreply@acme.example"),
    ("Zeno", "zeno@example.org"),  # a name that ends in "no": the last two characters
    ("Billing 100% [EU]", "billing_eu@acme.example"),  # LIKE's and the match syntax's specials
    ('Quote "x" AND y', "q@acme.example"),
    ("宛先テスト", "wide@example.jp"),  # wide characters
]
QUERIES = ["no", "NO", "ø", "øR", "rs", "d", "o@", "es", ".e", "0%", "%", "_e", '"x', "AND", "先テ", "テ", "xyzzy",
           "ple", "g", "\x1f", "m\x1f", "\x02o\x03", "o\x03N", "\x03"]  # the index's own marks match nothing
OWNERS = ["alice", "bob"]


async def _seed(db: Database) -> list[dict]:
    rows = []
    async with db.transaction() as tx:
        for n, ((name, email), owner) in enumerate(zip(NAMES, itertools.cycle(OWNERS))):
            row = {"kind": "own" if n % 2 else "marketing", "name": name, "email": email, "owner": owner,
                   "shared": int(n == 3), "status": "pending", "created_at": "2026-01-01T00:00:00.000Z",
                   "updated_at": "2026-01-01T00:00:00.000Z"}
            row["id"] = await account_store.insert(tx.conn, dict(row))
            rows.append(row)
    return rows


def _expected(rows: list[dict], query: str, viewer: str | None, kind: str) -> list[int]:
    q = query.lower()
    return sorted(r["id"] for r in rows
                  if (q in r["name"].lower() or q in r["email"].lower())
                  and (viewer is None or r["owner"] == viewer or r["shared"])
                  and kind in ("all", r["kind"]))


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "db.sqlite")
    yield database
    await database.close()


@pytest.mark.parametrize("viewer", [None, "alice", "carol"])  # carol owns nothing: she sees the shared only
@pytest.mark.parametrize("kind", ["all", "own"])
async def test_every_query_length_finds_exactly_the_substring_matches(db, viewer, kind):
    rows = await _seed(db)
    for query in QUERIES:
        total, page = await account_search.search(db.read, account_search.Search(query=query, viewer=viewer, kind=kind))
        want = _expected(rows, query, viewer, kind)
        assert (total, sorted(r["id"] for r in page)) == (len(want), want), f"query {query!r}"


async def test_a_rename_and_a_delete_reach_the_short_queries(db):
    rows = await _seed(db)
    zeno = next(r for r in rows if r["name"] == "Zeno")
    async with db.transaction() as tx:
        await account_store.update(tx.conn, zeno["id"], {"name": "Zena", "email": "zena@example.org"})
    total, _ = await account_search.search(db.read, account_search.Search(query="no"))
    assert total == len(_expected(rows, "no", None, "all")) - 1, "Zena no longer ends in no"
    total, page = await account_search.search(db.read, account_search.Search(query="na"))
    assert [r["name"] for r in page] == ["Zena"] and total == 1
    async with db.transaction() as tx:
        await tx.conn.execute("DELETE FROM accounts WHERE id = ?", (zeno["id"],))
    assert (await account_search.search(db.read, account_search.Search(query="na")))[0] == 0
