"""Versioned schema migrations, tracked in `PRAGMA user_version`.

Append a function to MIGRATIONS to change the schema; never edit one that
has shipped. Each runs in its own transaction together with the version
bump, so a crash leaves the database at the version before or after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import aiosqlite

from . import DatabaseError

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]


async def _run(conn: aiosqlite.Connection, *statements: str) -> None:
    for sql in statements:
        await conn.execute(sql)


async def m001_accounts(conn: aiosqlite.Connection) -> None:
    await _run(
        conn,
        """
        CREATE TABLE accounts (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('marketing', 'own')),
            name TEXT NOT NULL,
            email TEXT NOT NULL,
            display_name TEXT NOT NULL DEFAULT '',
            from_name_field TEXT,
            reply_to_email TEXT,
            reply_to_name TEXT NOT NULL DEFAULT '',
            reply_to_name_field TEXT,
            shared INTEGER NOT NULL DEFAULT 0 CHECK (shared IN (0, 1)),
            owner TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            status TEXT NOT NULL,
            status_detail TEXT NOT NULL DEFAULT '',
            approval TEXT CHECK (approval IN ('pending', 'approved', 'rejected')),
            approval_reason TEXT NOT NULL DEFAULT '',
            smtp_host TEXT,
            smtp_port INTEGER,
            smtp_user TEXT,
            smtp_password BLOB,
            smtp_security TEXT CHECK (smtp_security IN ('none', 'starttls', 'ssl')),
            smtp_authenticate INTEGER,
            smtp_verify_tls INTEGER,
            smtp_proxy BLOB,
            incoming_protocol TEXT CHECK (incoming_protocol IN ('imap', 'pop3')),
            incoming_host TEXT,
            incoming_port INTEGER,
            incoming_user TEXT,
            incoming_password BLOB,
            incoming_ssl INTEGER,
            incoming_verify_tls INTEGER,
            incoming_folder TEXT,
            incoming_batch_size INTEGER,
            incoming_delete_bounces INTEGER,
            incoming_poll_interval INTEGER
        )
        """,
        "CREATE UNIQUE INDEX accounts_email ON accounts (email COLLATE NOCASE)",
        # The list's default order; email rides along so a short (LIKE) query
        # is answered from the index alone.
        "CREATE INDEX accounts_name ON accounts (name COLLATE NOCASE, id, email)",
        "CREATE INDEX accounts_kind_name ON accounts (kind, name COLLATE NOCASE, id, email)",
        "CREATE INDEX accounts_status_name ON accounts (status, name COLLATE NOCASE, id, email)",
        "CREATE INDEX accounts_owner ON accounts (owner)",
        "CREATE INDEX accounts_created ON accounts (created_at, id)",
        # Substring search on name or email: a trigram index answers
        # `query` of 3+ characters without scanning the table.
        """
        CREATE VIRTUAL TABLE accounts_fts USING fts5 (
            name, email, content = 'accounts', content_rowid = 'id', tokenize = 'trigram'
        )
        """,
        """
        CREATE TRIGGER accounts_fts_insert AFTER INSERT ON accounts BEGIN
            INSERT INTO accounts_fts (rowid, name, email) VALUES (new.id, new.name, new.email);
        END
        """,
        """
        CREATE TRIGGER accounts_fts_delete AFTER DELETE ON accounts BEGIN
            INSERT INTO accounts_fts (accounts_fts, rowid, name, email) VALUES ('delete', old.id, old.name, old.email);
        END
        """,
        """
        CREATE TRIGGER accounts_fts_update AFTER UPDATE OF name, email ON accounts BEGIN
            INSERT INTO accounts_fts (accounts_fts, rowid, name, email) VALUES ('delete', old.id, old.name, old.email);
            INSERT INTO accounts_fts (rowid, name, email) VALUES (new.id, new.name, new.email);
        END
        """,
    )


async def m002_events(conn: aiosqlite.Connection) -> None:
    # seq is AUTOINCREMENT so it never goes back, even after rows are pruned (retention.py).
    await _run(
        conn,
        """
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            time TEXT NOT NULL,
            type TEXT NOT NULL,
            account_id INTEGER,
            data TEXT NOT NULL
        )
        """,
        "CREATE INDEX events_type ON events (type, seq)",
    )


async def m003_contacts_and_bounces(conn: aiosqlite.Connection) -> None:
    await _run(
        conn,
        # email_key is the address lower-cased: unique case-insensitively, the spelling kept in email.
        """
        CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL,
            email_key TEXT NOT NULL UNIQUE,
            details TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'faulty')),
            status_reason TEXT NOT NULL DEFAULT '',
            hard_bounces INTEGER NOT NULL DEFAULT 0,
            soft_bounces INTEGER NOT NULL DEFAULT 0,
            last_bounce_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
        "CREATE INDEX contacts_status ON contacts (status, email_key)",
        # Every bounce, kept so a person can see why a contact was marked.
        # (account, message_key, recipient) is unique: a message is counted once per recipient.
        """
        CREATE TABLE bounces (
            id INTEGER PRIMARY KEY,
            account_id INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
            message_key TEXT NOT NULL,
            message_id TEXT,
            recipient TEXT NOT NULL,
            contact_id INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
            hard INTEGER NOT NULL CHECK (hard IN (0, 1)),
            kind TEXT NOT NULL,
            status TEXT,
            reason TEXT NOT NULL,
            diagnostic TEXT NOT NULL DEFAULT '',
            raw BLOB,
            raw_truncated INTEGER NOT NULL DEFAULT 0,
            received_at TEXT NOT NULL,
            UNIQUE (account_id, message_key, recipient)
        )
        """,
        "CREATE INDEX bounces_contact ON bounces (contact_id, received_at)",
        "CREATE INDEX bounces_recipient ON bounces (recipient)",
        "CREATE INDEX bounces_account ON bounces (account_id, id)",
        # Every message read, bounce or not: the Message-ID (or a hash of the message) keeps a
        # message from being counted twice even when the server renumbers it (new UIDVALIDITY).
        """
        CREATE TABLE seen_messages (
            account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            message_key TEXT NOT NULL,
            kind TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (account_id, message_key)
        ) WITHOUT ROWID
        """,
        # Where reading stopped, per account: IMAP UIDVALIDITY + last UID.
        """
        CREATE TABLE mailbox_state (
            account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
            uidvalidity INTEGER,
            last_uid INTEGER NOT NULL DEFAULT 0,
            last_poll_at TEXT,
            last_ok_at TEXT,
            last_error TEXT NOT NULL DEFAULT '',
            failures INTEGER NOT NULL DEFAULT 0,
            last_counts TEXT NOT NULL DEFAULT '{}'
        )
        """,
        # POP3 has no UIDs that grow: the UIDLs already read.
        """
        CREATE TABLE pop3_seen (
            account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            uidl TEXT NOT NULL,
            PRIMARY KEY (account_id, uidl)
        ) WITHOUT ROWID
        """,
        # Bounce messages committed but not yet deleted on the server (a crash in between
        # leaves them here; the next round deletes them before reading on).
        """
        CREATE TABLE pending_deletes (
            account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            ref TEXT NOT NULL,
            PRIMARY KEY (account_id, ref)
        ) WITHOUT ROWID
        """,
    )


async def m004_probe_results(conn: aiosqlite.Connection) -> None:
    # The latest connection tests of each account (a few are kept, for the account's history).
    await _run(
        conn,
        """
        CREATE TABLE probe_results (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            at TEXT NOT NULL,
            ok INTEGER NOT NULL,
            result TEXT NOT NULL
        )
        """,
        "CREATE INDEX probe_results_account ON probe_results (account_id, id)",
    )


async def m005_unreadable(conn: aiosqlite.Connection) -> None:
    # Messages a server lists but does not hand over (a FETCH answer without them, a garbled one, an
    # impossible UID): tried again each round, and after a few tries set aside here for a person to
    # see, with the reason; never passed by the checkpoint unnoticed.
    await _run(
        conn,
        """
        CREATE TABLE unreadable (
            account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            ref TEXT NOT NULL,
            reason TEXT NOT NULL,
            tries INTEGER NOT NULL,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            set_aside INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (account_id, ref)
        ) WITHOUT ROWID
        """,
    )


async def m006_two_states(conn: aiosqlite.Connection) -> None:
    # An own account's SMTP and incoming mail fail or work apart: one status word hid a failing
    # mailbox behind failing SMTP. `status` stays the one word for the list, derived from both.
    await _run(
        conn,
        "ALTER TABLE accounts ADD COLUMN smtp_state TEXT",
        "ALTER TABLE accounts ADD COLUMN incoming_state TEXT",
        """
        UPDATE accounts SET
            smtp_state = CASE WHEN kind != 'own' THEN NULL
                WHEN status = 'smtp_failing' THEN 'failing'
                WHEN status IN ('active', 'incoming_failing') THEN 'ok' ELSE 'untested' END,
            incoming_state = CASE WHEN kind != 'own' OR incoming_protocol IS NULL THEN NULL
                WHEN status = 'incoming_failing' THEN 'failing'
                WHEN status = 'active' THEN 'ok' ELSE 'untested' END
        """,
        "CREATE INDEX accounts_smtp_state ON accounts (smtp_state, name COLLATE NOCASE, id, email)",
        "CREATE INDEX accounts_incoming_state ON accounts (incoming_state, name COLLATE NOCASE, id, email)",
    )


async def m007_events_by_account(conn: aiosqlite.Connection) -> None:
    # An account's activity (its bounces, mail from contacts, status changes) is read newest first.
    await _run(conn, "CREATE INDEX events_account ON events (account_id, seq)")


# The trigram index (m008) holds each name and email with an end mark after it, so every substring of
# two characters, the last two included, starts a trigram; and in a column of its own, `tags`, the
# account's kind, whether it is shared, and its owner, each a single trigram, so a text query, a kind and
# who may see the account are one match of a few doclists. The owner's trigram is OWNER_MARK and two
# characters of the private use area numbering the owner (account_owners.id: unique, never reused).
# The marks are control characters, which no stored text holds (they are refused), so no query can
# match them by accident.
END_MARK = "\x1f"
KIND_MARK = {"own": "\x02o\x03", "marketing": "\x02m\x03"}
SHARED_MARK = "\x02s\x03"
OWNER_MARK = "\x04"
_OWNER_CODE = "char(57344 + {id} / 6400, 57344 + {id} % 6400)"  # U+E000.., a pair per owner
OWNER_CODE_SQL = f"SELECT {_OWNER_CODE.format(id='id')} FROM account_owners WHERE name = ?"


def _fts_values(row: str) -> str:
    """The trigram index's (name, email, tags) for `row` (`new` or `old` in a trigger: a contentless
    index deletes by the values it was given, so both use this one expression)."""
    end = f"char({ord(END_MARK)})"
    owner = f"(SELECT {_OWNER_CODE.format(id='id')} FROM account_owners WHERE name = {row}.owner)"
    return (f"{row}.name || {end}, {row}.email || {end}, "
            f"char(2) || substr({row}.kind, 1, 1) || char(3) "
            f"|| CASE WHEN {row}.shared THEN char(2) || 's' || char(3) ELSE '' END "
            f"|| char({ord(OWNER_MARK)}) || {owner}")


async def m008_list_for_everyone(conn: aiosqlite.Connection) -> None:
    # The account list at 100,000 accounts within 10 ms for every caller and query (bench/rpc.py;
    # account_search.py says how each is answered):
    # - the indexes that walk the list in name order also hold owner and shared, so a non-admin's page
    #   is read from the index alone (a wide accounts row per candidate made a page 50-150 ms);
    # - owner and shared lead an index each (with name and email), so a non-admin's count adds two
    #   index ranges of their own rows; accounts_kind counts a kind (and a status) from narrow entries;
    # - accounts_filter answers "is this matched id in this state" without the row;
    # - the trigram index is rebuilt contentless with the marks and tags above, and its vocabulary is
    #   a table, so a 2-character query becomes the trigrams that start with it instead of a scan.
    statements = []
    for name, lead in (("accounts_name", ""), ("accounts_kind_name", "kind, "), ("accounts_status_name", "status, "),
                       ("accounts_smtp_state", "smtp_state, "), ("accounts_incoming_state", "incoming_state, ")):
        statements += [f"DROP INDEX {name}",
                       f"CREATE INDEX {name} ON accounts ({lead}name COLLATE NOCASE, id, email, owner, shared)"]
    await _run(
        conn,
        *statements,
        "DROP INDEX accounts_owner",
        "CREATE INDEX accounts_owner ON accounts (owner, kind, status, name, email)",
        "CREATE INDEX accounts_shared ON accounts (shared, kind, status, owner, name, email)",
        "CREATE INDEX accounts_kind ON accounts (kind, status, owner, shared)",
        "CREATE INDEX accounts_filter ON accounts (id, owner, shared, kind, status, smtp_state, incoming_state)",
        "DROP TRIGGER accounts_fts_insert",
        "DROP TRIGGER accounts_fts_delete",
        "DROP TRIGGER accounts_fts_update",
        "DROP TABLE accounts_fts",
        # Every owner a number (never reused): the trigram that tags their accounts.
        "CREATE TABLE account_owners (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
        "INSERT INTO account_owners (name) SELECT DISTINCT owner FROM accounts ORDER BY owner",
        "CREATE VIRTUAL TABLE accounts_fts USING fts5 (name, email, tags, content = '', tokenize = 'trigram')",
        f"INSERT INTO accounts_fts (rowid, name, email, tags) SELECT id, {_fts_values('accounts')} FROM accounts",
        "INSERT INTO accounts_fts (accounts_fts) VALUES ('optimize')",  # one segment: a third faster to match
        f"""
        CREATE TRIGGER accounts_fts_insert AFTER INSERT ON accounts BEGIN
            INSERT OR IGNORE INTO account_owners (name) VALUES (new.owner);
            INSERT INTO accounts_fts (rowid, name, email, tags) VALUES (new.id, {_fts_values('new')});
        END
        """,
        f"""
        CREATE TRIGGER accounts_fts_delete AFTER DELETE ON accounts BEGIN
            INSERT INTO accounts_fts (accounts_fts, rowid, name, email, tags) VALUES ('delete', old.id, {_fts_values('old')});
        END
        """,
        f"""
        CREATE TRIGGER accounts_fts_update AFTER UPDATE OF name, email, kind, shared, owner ON accounts BEGIN
            INSERT INTO accounts_fts (accounts_fts, rowid, name, email, tags) VALUES ('delete', old.id, {_fts_values('old')});
            INSERT OR IGNORE INTO account_owners (name) VALUES (new.owner);
            INSERT INTO accounts_fts (rowid, name, email, tags) VALUES (new.id, {_fts_values('new')});
        END
        """,
        "CREATE VIRTUAL TABLE accounts_fts_terms USING fts5vocab (accounts_fts, 'row')",
    )


async def m009_whom_a_bounce_is_about(conn: aiosqlite.Connection) -> None:
    # A bounce is about the recipient (it counts on the contact), the sender (the account's health) or one
    # message (recorded only); each keeps the classifier rule that decided it and the words it rested on.
    # A contact may now be `complained` (a spam complaint, RFC 5965: suppressed, not faulty); SQLite cannot
    # change a CHECK, so the table is rebuilt (sqlite.org/lang_altertable.html §7, foreign keys off: apply()).
    # Every change of a contact's status is kept in contact_marks, with the rule that made it, so what a
    # wrong rule did can be undone (`contacts unmark --rule`) and the history stays.
    await _run(
        conn,
        "ALTER TABLE bounces ADD COLUMN about TEXT NOT NULL DEFAULT 'recipient'",
        "ALTER TABLE bounces ADD COLUMN rule TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE bounces ADD COLUMN evidence TEXT NOT NULL DEFAULT ''",
        """
        CREATE TABLE contacts_new (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL,
            email_key TEXT NOT NULL UNIQUE,
            details TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'faulty', 'complained')),
            status_reason TEXT NOT NULL DEFAULT '',
            hard_bounces INTEGER NOT NULL DEFAULT 0,
            soft_bounces INTEGER NOT NULL DEFAULT 0,
            last_bounce_at TEXT,
            complaints INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
        "INSERT INTO contacts_new (id, email, email_key, details, status, status_reason, hard_bounces, soft_bounces, "
        "last_bounce_at, created_at, updated_at) SELECT id, email, email_key, details, status, status_reason, "
        "hard_bounces, soft_bounces, last_bounce_at, created_at, updated_at FROM contacts",
        "DROP TABLE contacts",
        "ALTER TABLE contacts_new RENAME TO contacts",
        "CREATE INDEX contacts_status ON contacts (status, email_key)",
        """
        CREATE TABLE contact_marks (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
            status TEXT NOT NULL,
            previous TEXT NOT NULL,
            reason TEXT NOT NULL,
            rule TEXT NOT NULL DEFAULT '',
            bounce_id INTEGER REFERENCES bounces (id) ON DELETE SET NULL,
            by TEXT NOT NULL,
            at TEXT NOT NULL,
            undone_at TEXT
        )
        """,
        "CREATE INDEX contact_marks_contact ON contact_marks (contact_id, id)",
        "CREATE INDEX contact_marks_rule ON contact_marks (rule, at)",
        # The marks made before marks were kept: their rule is unknown ('').
        "INSERT INTO contact_marks (contact_id, status, previous, reason, by, at) "
        "SELECT id, status, 'active', status_reason, 'mailfleetd', updated_at FROM contacts WHERE status != 'active'",
        # The account's health: the latest sender-side refusal (a blocklist, SPF/DKIM/DMARC, a rate limit).
        "ALTER TABLE accounts ADD COLUMN health TEXT",
        "ALTER TABLE accounts ADD COLUMN health_reason TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE accounts ADD COLUMN health_at TEXT",
        # Messages the classifier could not read (no recipient found, or it broke): for a person, and
        # classified again by a classifier that differs from the one that gave up.
        """
        CREATE TABLE unparsed (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            message_key TEXT NOT NULL,
            subject TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',
            raw BLOB,
            classifier TEXT NOT NULL,
            received_at TEXT NOT NULL,
            UNIQUE (account_id, message_key)
        )
        """,
    )


async def m010_oauth2(conn: aiosqlite.Connection) -> None:
    # OAuth 2.0 sign-in (issue 14): each direction signs in with a password or a token; the account's
    # oauth2 settings say how tokens are got (the client secret encrypted like a password). The grant
    # consent gave lives in its own table: the refresh token (encrypted), what it was granted for (the
    # endpoint, client and servers it may be used with), and the access token's life is kept in memory
    # only. auth_state: NULL (no person's grant needed), 'ok', 'signin_required' (nobody has signed in yet) or
    # 'reauth_required' (the provider refused the grant, or the settings it was given for changed).
    await _run(
        conn,
        "ALTER TABLE accounts ADD COLUMN smtp_auth TEXT CHECK (smtp_auth IN ('password', 'oauth2'))",
        "ALTER TABLE accounts ADD COLUMN incoming_auth TEXT CHECK (incoming_auth IN ('password', 'oauth2'))",
        "UPDATE accounts SET smtp_auth = 'password' WHERE smtp_host IS NOT NULL",
        "UPDATE accounts SET incoming_auth = 'password' WHERE incoming_protocol IS NOT NULL",
        "ALTER TABLE accounts ADD COLUMN oauth2_provider TEXT CHECK (oauth2_provider IN ('microsoft', 'google', 'custom'))",
        "ALTER TABLE accounts ADD COLUMN oauth2_flow TEXT CHECK (oauth2_flow IN ('device', 'client_credentials', 'code'))",
        "ALTER TABLE accounts ADD COLUMN oauth2_client_id TEXT",
        "ALTER TABLE accounts ADD COLUMN oauth2_client_secret BLOB",
        "ALTER TABLE accounts ADD COLUMN oauth2_tenant TEXT",
        "ALTER TABLE accounts ADD COLUMN oauth2_issuer TEXT",
        "ALTER TABLE accounts ADD COLUMN oauth2_scopes TEXT",
        "ALTER TABLE accounts ADD COLUMN auth_state TEXT "
        "CHECK (auth_state IN ('ok', 'signin_required', 'reauth_required'))",
        """
        CREATE TABLE oauth_grants (
            account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
            refresh_token BLOB,
            binding TEXT NOT NULL,
            granted_by TEXT NOT NULL,
            granted_at TEXT NOT NULL,
            refreshed_at TEXT,
            expires_at TEXT
        )
        """,
    )


async def m011_send_queue(conn: aiosqlite.Connection) -> None:
    # Sending through the accounts (issue 16). A job is what one request handed over: the account, who
    # asked, the message without the headers each recipient gets of their own (From, Reply-To, To,
    # Message-ID, Date). The queue holds one row per recipient, its Message-ID fixed when accepted
    # (a retry sends the same message) and its state:
    #   queued -> sending -> sent | failed (5xx: a bounce on the spot) | deferred (4xx, network: retried)
    #   suppressed (a faulty or complained contact: never sent) | uncertain (the daemon died while it was
    #   `sending`: the server may have taken it; not sent again unless a person says so).
    await _run(
        conn,
        """
        CREATE TABLE send_jobs (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            by TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('api', 'smtp')),
            body BLOB NOT NULL,
            recipients INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            done_at TEXT
        )
        """,
        """
        CREATE TABLE send_queue (
            id INTEGER PRIMARY KEY,
            job_id INTEGER NOT NULL REFERENCES send_jobs (id) ON DELETE CASCADE,
            account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            recipient TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'deferred', 'failed', 'suppressed',
                                                 'uncertain')),
            message_id TEXT NOT NULL UNIQUE,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_at TEXT NOT NULL,
            reply TEXT NOT NULL DEFAULT '',
            sent_at TEXT,
            updated_at TEXT NOT NULL,
            UNIQUE (job_id, recipient)
        )
        """,
        "CREATE INDEX send_queue_due ON send_queue (state, next_at) WHERE state IN ('queued', 'deferred')",
        "CREATE INDEX send_queue_account ON send_queue (account_id, state, updated_at)",
        "CREATE INDEX send_queue_sent ON send_queue (account_id, sent_at) WHERE sent_at IS NOT NULL",
    )


async def m012_submission_logins(conn: aiosqlite.Connection) -> None:
    # SMTP submission (issue 16): mailers sign in with a login made for them (`mailfleetctl submission add`),
    # as the Unix user who made it; only a scrypt hash of its password is kept. Revoked ones stay listed.
    await _run(
        conn,
        """
        CREATE TABLE submission_logins (
            id INTEGER PRIMARY KEY,
            user TEXT NOT NULL,
            name TEXT NOT NULL,
            login TEXT NOT NULL UNIQUE,
            salt BLOB NOT NULL,
            secret_hash BLOB NOT NULL,
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        )
        """,
    )


async def m013_send_limits(conn: aiosqlite.Connection) -> None:
    # How fast an account may send (shared/models.SendLimits): a provider's preset and windows of its own.
    await _run(
        conn,
        "ALTER TABLE accounts ADD COLUMN limits_preset TEXT NOT NULL DEFAULT 'none' "
        "CHECK (limits_preset IN ('none', 'google_workspace', 'exchange_online'))",
        "ALTER TABLE accounts ADD COLUMN limits_per_second INTEGER",
        "ALTER TABLE accounts ADD COLUMN limits_per_minute INTEGER",
        "ALTER TABLE accounts ADD COLUMN limits_per_day INTEGER",
        "ALTER TABLE accounts ADD COLUMN limits_warmup_days INTEGER NOT NULL DEFAULT 0",
    )


async def m014_attribution(conn: aiosqlite.Connection) -> None:
    # A bounce is matched to what was sent (issue 16): `link` says how (message_id: the returned message
    # is ours; references: In-Reply-To/References name ours; recipient: the account mailed that address;
    # stray: the account sends through mailfleet and never mailed it; '': nothing to match against, the
    # account has sent nothing through mailfleet) and `queue_id` which message it was.
    await _run(
        conn,
        "ALTER TABLE bounces ADD COLUMN link TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE bounces ADD COLUMN queue_id INTEGER REFERENCES send_queue (id) ON DELETE SET NULL",
        "CREATE INDEX send_queue_recipient ON send_queue (account_id, recipient)",
    )


async def m015_unsubscribe(conn: aiosqlite.Connection) -> None:
    # Where a recipient unsubscribes (List-Unsubscribe, RFC 2369; one-click, RFC 8058).
    await _run(
        conn,
        "ALTER TABLE accounts ADD COLUMN unsubscribe_url TEXT",
        "ALTER TABLE accounts ADD COLUMN unsubscribe_mailto TEXT",
    )


async def m016_service_accounts(conn: aiosqlite.Connection) -> None:
    # OAuth 2.0 by a service account's signed assertion (RFC 7523; Google Workspace's domain-wide
    # delegation): its key is kept encrypted, and the flow's CHECK takes the new value. Relaxing a CHECK
    # changes no stored data: sqlite.org/lang_altertable.html section 7's writable_schema procedure.
    await conn.execute("ALTER TABLE accounts ADD COLUMN oauth2_service_account_key BLOB")
    version = (await (await conn.execute("PRAGMA schema_version")).fetchone())[0]
    old = "CHECK (oauth2_flow IN ('device', 'client_credentials', 'code'))"
    new = "CHECK (oauth2_flow IN ('device', 'client_credentials', 'code', 'service_account'))"
    sql = (await (await conn.execute("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'accounts'"))
           .fetchone())[0]
    if old not in sql:
        raise DatabaseError("migration 16: the accounts table's oauth2_flow constraint is not the one migration 10 made")
    await conn.execute("PRAGMA writable_schema = ON")
    try:
        await conn.execute("UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = 'accounts'",
                           (sql.replace(old, new),))
        await conn.execute(f"PRAGMA schema_version = {version + 1}")
    finally:
        await conn.execute("PRAGMA writable_schema = OFF")
    check = (await (await conn.execute("PRAGMA integrity_check")).fetchone())[0]
    if check != "ok":
        raise DatabaseError(f"migration 16: integrity check after changing the constraint: {check}")


async def m017_verp(conn: aiosqlite.Connection) -> None:
    # Per-recipient envelope senders (verp.py), off until the account says its server takes them.
    await conn.execute("ALTER TABLE accounts ADD COLUMN verp INTEGER NOT NULL DEFAULT 0")


async def m018_verdict_rule(conn: aiosqlite.Connection) -> None:
    # The rule that decided the verdict's kind beside each bounce's own (the one of its reason): where that
    # rule chose whom a bounce is about (returned-recipient, forwarded-bounce, nested-report, inline-report),
    # `contacts unmark --rule` undoes what it marked too. Bounces stored before say nothing ('').
    await conn.execute("ALTER TABLE bounces ADD COLUMN verdict_rule TEXT NOT NULL DEFAULT ''")


MIGRATIONS: list[Migration] = [m001_accounts, m002_events, m003_contacts_and_bounces, m004_probe_results,
                               m005_unreadable, m006_two_states, m007_events_by_account, m008_list_for_everyone,
                               m009_whom_a_bounce_is_about, m010_oauth2,
                               m011_send_queue, m012_submission_logins, m013_send_limits,
                               m014_attribution, m015_unsubscribe, m016_service_accounts, m017_verp,
                               m018_verdict_rule]
SCHEMA_VERSION = len(MIGRATIONS)


async def apply(conn: aiosqlite.Connection, path: Path) -> None:
    version = (await (await conn.execute("PRAGMA user_version")).fetchone())[0]
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"{path}: schema version {version} is newer than this mailfleetd understands "
            f"({SCHEMA_VERSION}); run a newer mailfleetd or restore a backup"
        )
    # Foreign keys off while the schema changes: a table rebuilt (m009) is dropped, and with them on that
    # would null every reference to it. Each migration proves the keys still hold before it commits.
    await conn.execute("PRAGMA foreign_keys = OFF")
    try:
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            await conn.execute("BEGIN IMMEDIATE")
            try:
                await migration(conn)
                broken = await conn.execute_fetchall("PRAGMA foreign_key_check")
                if broken:
                    raise DatabaseError(f"{path}: migration {number} broke {len(broken)} foreign key(s)")
                await conn.execute(f"PRAGMA user_version = {number}")
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
    finally:
        await conn.execute("PRAGMA foreign_keys = ON")
