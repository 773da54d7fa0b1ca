"""The terminal UI driven with Pilot against a real daemon: every flow a sysadmin uses."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest

from mailfleet.shared.client import CurveKeys
from mailfleet.tui.app import MailfleetApp
from mailfleet.tui.components.account_form import AccountForm
from mailfleet.tui.components.account_table import AccountTable
from mailfleet.tui.components.dialogs import Confirm
from mailfleet.tui.components.test_report import ConnectionTestScreen

from ..support.samples import OWN
from ..support.mailservers import PASSWORD, USER, _Listener, smtp_server
from ..support.servers import free_port

SIZE = (100, 30)


async def until(pilot, condition, timeout: float = 10.0) -> None:
    """Let the app work until the condition holds (the UI updates asynchronously)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the UI never got there"
        await pilot.pause(0.05)


def app_for(daemon, **kw) -> MailfleetApp:
    return MailfleetApp(daemon.endpoint, **kw)


def seed(daemon, n: int = 5) -> None:
    with daemon.client() as c:
        for i in range(n):
            c.call("accounts.create", {**OWN, "name": f"Account {i:02}", "email": f"a{i}@example.com"})
        c.call("accounts.create", {"kind": "marketing", "name": "Newsletter", "email": "news@example.com"})


async def type_into(pilot, selector: str, text: str) -> None:
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    widget.value = ""
    await pilot.press(*text) if text else None


async def test_list_search_and_filter(daemon):
    seed(daemon, 30)
    app = app_for(daemon)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.total == 31)
        await pilot.press("j", "j", "down")
        assert table.current["name"] == "Account 03"
        await pilot.press("slash", "c", "q")  # typed into the search box, not taken as keys
        assert app.query_one("#search").value == "cq" and app.is_running
        app.query_one("#search").value = ""
        await pilot.press(*"letter")
        await until(pilot, lambda: table.total == 1 and table.current and table.current["name"] == "Newsletter")
        await pilot.press("enter")
        app.query_one("#search").value = ""
        await until(pilot, lambda: table.total == 31)
        await pilot.press("f")  # marketing
        await until(pilot, lambda: table.total == 1)
        await pilot.press("f")  # own
        await until(pilot, lambda: table.total == 30)


async def test_create_own_account_fixing_a_validation_error(daemon):
    app = app_for(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n", "o")
        await until(pilot, lambda: isinstance(app.screen, AccountForm))
        form = app.screen
        await type_into(pilot, "#f-name", "Sales")
        await type_into(pilot, "#f-email", "not-an-address")
        await until(pilot, lambda: "not a valid email" in str(form.query_one("#e-email").render()))
        await type_into(pilot, "#f-email", "sales@example.com")
        await until(pilot, lambda: str(form.query_one("#e-email").render()) == "")
        await type_into(pilot, "#f-smtp-host", "smtp.example.com")
        await type_into(pilot, "#f-smtp-user", "sales")
        await type_into(pilot, "#f-smtp-password", "s3cret-smtp-pw")
        assert form.query_one("#f-smtp-port").value == "587"
        form.query_one("#f-smtp-security").value = "ssl"
        await until(pilot, lambda: form.query_one("#f-smtp-port").value == "465")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, AccountForm))
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.total == 1)
    with daemon.client() as c:
        acc = c.call("accounts.list")["items"][0]
        full = c.call("accounts.get", {"id": acc["id"]})
    assert full["smtp"]["port"] == 465 and full["smtp"]["security"] == "ssl" and full["smtp"]["password_set"]


async def test_create_marketing_account(daemon):
    app = app_for(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")  # from any filter: the kind is asked, both in plain sight
        await until(pilot, lambda: "Marketing account (m)" in displayed(app) and "Own account (o)" in displayed(app))
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, AccountForm))
        assert not app.screen.query("#sec-smtp"), "marketing accounts have no SMTP section"
        await type_into(pilot, "#f-name", "News")
        await type_into(pilot, "#f-email", "news@example.com")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, AccountForm))
    with daemon.client() as c:
        assert c.call("accounts.list")["items"][0]["status"] == "pending"


async def test_edit_keeps_the_password(daemon):
    seed(daemon, 1)
    before = sqlite3.connect(daemon.paths.database).execute("SELECT smtp_password FROM accounts WHERE kind='own'").fetchone()[0]
    app = app_for(daemon)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.total == 2 and table.current is not None)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, AccountForm))
        form = app.screen
        assert form.query_one("#f-smtp-password").placeholder == "unchanged"
        await type_into(pilot, "#f-display_name", "Renamed Sales")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, AccountForm))
    with daemon.client() as c:
        own = [i for i in c.call("accounts.list")["items"] if i["kind"] == "own"][0]
        assert c.call("accounts.get", {"id": own["id"]})["display_name"] == "Renamed Sales"
    after = sqlite3.connect(daemon.paths.database).execute("SELECT smtp_password FROM accounts WHERE kind='own'").fetchone()[0]
    assert after == before


async def test_delete_asks_naming_the_account(daemon):
    seed(daemon, 1)
    app = app_for(daemon)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.total == 2 and table.current is not None)
        name = table.current["name"]
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        assert name in app.screen.question
        await pilot.press("escape")  # the default answer keeps it
        await until(pilot, lambda: not isinstance(app.screen, Confirm))
        assert table.total == 2
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.click("#yes")
        await until(pilot, lambda: table.total == 1)


async def test_connection_test_from_the_form_shows_the_layers(daemon):
    controller, _ = smtp_server("plain")
    try:
        app = app_for(daemon)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("n", "o")
            await until(pilot, lambda: isinstance(app.screen, AccountForm))
            await type_into(pilot, "#f-name", "Local")
            await type_into(pilot, "#f-email", "local@example.com")
            await type_into(pilot, "#f-smtp-host", "127.0.0.1")
            app.screen.query_one("#f-smtp-security").value = "none"
            await until(pilot, lambda: app.screen.query_one("#f-smtp-port").value == "25")  # the form's default
            await type_into(pilot, "#f-smtp-port", str(controller.port))
            await type_into(pilot, "#f-smtp-user", USER)
            await type_into(pilot, "#f-smtp-password", PASSWORD)
            await pilot.press("ctrl+t")
            await until(pilot, lambda: isinstance(app.screen, ConnectionTestScreen))
            screen = app.screen
            await until(pilot, lambda: "passed" in str(screen.query_one("#test-title").render()), timeout=30)
            steps = screen.query_one("#test-steps")
            assert steps.row_count >= 7
    finally:
        controller.stop()


async def test_a_failed_test_shows_step_and_hint(daemon):
    with daemon.client() as c:
        c.call("accounts.create", {**OWN, "smtp": {**OWN["smtp"], "host": "127.0.0.1", "port": 1, "security": "none"}})
    app = app_for(daemon)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.current is not None)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ConnectionTestScreen))
        screen = app.screen
        await until(pilot, lambda: "failed" in str(screen.query_one("#test-title").render()), timeout=30)
        verdict = str(screen.query_one("#test-verdict").render())
        assert "connect" in verdict and "refused" in verdict and "hint" in verdict


async def test_approve_as_admin(daemon):
    seed(daemon, 0)
    app = app_for(daemon)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.current is not None and table.current["status"] == "pending")
        await pilot.press("a")
        await until(pilot, lambda: table.current is not None and table.current["status"] == "active")


async def test_approve_refused_for_a_non_admin(make_daemon, short_tmp):
    port = free_port()
    keys = short_tmp / "keys"
    subprocess.run([sys.executable, "-m", "mailfleet.ctl", "keygen", "bob", "--dir", str(keys)], check=True,
                   capture_output=True)
    d = make_daemon(config=f'[remote]\nendpoint = "tcp://127.0.0.1:{port}"\n')
    (d.paths.config_dir / "clients").mkdir(parents=True)
    shutil.copy(keys / "bob.key", d.paths.config_dir / "clients" / "bob.key")
    d.start()
    with d.client() as c:
        c.call("accounts.create", {"kind": "marketing", "name": "Shared news", "email": "n@example.com", "shared": True})
    curve = CurveKeys.from_files(str(keys / "bob.key_secret"), str(d.paths.state_dir / "remote" / "server.key"))
    app = MailfleetApp(f"tcp://127.0.0.1:{port}", curve=curve)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.current is not None and app.info)
        await pilot.pause()
        # Approving is for admins: Bob is not shown the key, and pressing it does nothing (the daemon
        # refuses non-admins too: test_visibility).
        assert "Approve" not in displayed(app).splitlines()[-1]
        await pilot.press("a")
        await pilot.pause()
        assert table.current["status"] == "pending" and not isinstance(app.screen, Confirm)


async def test_live_update_from_another_client(daemon):
    app = app_for(daemon)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: app.subscribed)  # the daemon has answered events.subscribe
        with daemon.client() as c:
            c.call("accounts.create", {**OWN, "name": "Made elsewhere"})
        await until(pilot, lambda: table.total == 1 and table.current and table.current["name"] == "Made elsewhere")


async def test_daemon_restart_while_open(daemon):
    seed(daemon, 1)
    app = app_for(daemon, timeout=1.0)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.total == 2)
        assert daemon.stop() == 0
        banner = app.query_one("#banner")
        await until(pilot, lambda: banner.display, timeout=15)
        assert "not answering" in str(banner.render())
        daemon.start()
        await until(pilot, lambda: not banner.display, timeout=20)
        await until(pilot, lambda: table.total == 2)


async def test_contacts_screen(daemon):
    with daemon.client() as c:
        c.call("contacts.import", {"csv": "email,first_name\nanna@example.com,Anna\nbob@example.com,Bob\n"})
        c.call("contacts.update", {"email": "bob@example.com", "status": "faulty"})
    app = app_for(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await until(pilot, lambda: type(app.screen).__name__ == "ContactsScreen")
        screen = app.screen
        await until(pilot, lambda: screen.query_one("#contacts-table").row_count == 2)
        await pilot.press("f")
        await until(pilot, lambda: screen.query_one("#contacts-table").row_count == 1)
        await pilot.press("enter")
        await until(pilot, lambda: "bob@example.com" in str(screen.query_one("#contact-detail").render()))
        await pilot.press("m")  # bob has no bounces: said so
        await until(pilot, lambda: any("no bounces" in str(n.message) for n in app._notifications))
        await pilot.press("a")  # clear faulty (root is an admin)
        await until(pilot, lambda: screen.query_one("#contacts-table").row_count == 0)
    with daemon.client() as c:
        assert c.call("contacts.get", {"email": "bob@example.com"})["status"] == "active"


async def test_a_complained_contact_shows_its_status_counts_and_history(daemon):
    with daemon.client() as c:
        c.call("contacts.import", {"csv": "email\nangry@example.com\n"})
        c.call("contacts.update", {"email": "angry@example.com", "status": "complained"})
    app = app_for(daemon)
    async with app.run_test(size=(110, 30), notifications=True) as pilot:
        await pilot.press("c")
        await until(pilot, lambda: type(app.screen).__name__ == "ContactsScreen")
        await until(pilot, lambda: app.screen.query_one("#contacts-table").row_count == 1)
        shown = displayed(app)
        assert "SOFT NOW" in shown and "complained" in shown
        await pilot.press("enter")
        await until(pilot, lambda: "active -> complained by root" in displayed(app))
        await pilot.press("a")  # make it active again (root is an admin)
        await until(pilot, lambda: re.search(r"angry@example\.com +active +0 +0 +0", displayed(app)))
        assert "is active again; its history" in displayed(app)  # the toast
    with daemon.client() as c:
        history = c.call("contacts.get", {"email": "angry@example.com"})["history"]
        assert [(h["previous"], h["status"], h["by"]) for h in history] == [("complained", "active", "root"),
                                                                            ("active", "complained", "root")]


@pytest.mark.parametrize("size", [(80, 24)])
async def test_small_terminal_and_no_color(daemon, monkeypatch, size):
    monkeypatch.setenv("NO_COLOR", "1")
    seed(daemon, 3)
    app = app_for(daemon)
    async with app.run_test(size=size) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.total == 4)
        await pilot.press("n", "o")
        await until(pilot, lambda: isinstance(app.screen, AccountForm))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, AccountForm))


async def test_account_detail_says_everything_in_words(daemon):
    with daemon.client() as c:
        c.call("accounts.create", {**OWN, "from_name_field": "owner_name", "reply_to_email": "replies@example.com",
                                   "reply_to_name": "ACME Replies",
                                   "smtp": {**OWN["smtp"], "host": "127.0.0.1", "port": 1, "security": "none"}})
        acc = c.call("accounts.list")["items"][0]
        c.call("accounts.test", {"id": acc["id"]})
    app = app_for(daemon, keymap={"accounts.details": "v"})
    async with app.run_test(size=(110, 70)) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.current is not None)
        await pilot.press("v")  # the remapped key
        await until(pilot, lambda: type(app.screen).__name__ == "AccountDetail")
        await until(pilot, lambda: "Last connection test" in displayed(app))
        shown = displayed(app)
        for words in (f"created {acc['created_at'][:10]}", "sender name:          ACME Sales",
                      "overwrite FROM:       with the contact's 'owner_name' detail",
                      "reply-to:             replies@example.com", "reply-to name:        ACME Replies",
                      "server:               127.0.0.1:1", "password:             stored", "SMTP  failing",
                      "Incoming mail", "off: bounces are not read", "FAILED", "connect"):
            assert words in shown, words
        for repr_ in ("True", "False", "None", "{'", "password_set"):
            assert repr_ not in shown, repr_


async def test_a_failing_worker_becomes_a_banner_not_a_crash(daemon):
    app = app_for(daemon, timeout=1.0)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.info)
        assert daemon.stop() == 0
        await pilot.press("c")  # the contacts screen loads from a daemon that is gone
        await until(pilot, lambda: app.query_one("#banner").display, timeout=15)
        assert app.is_running


HOSTILE_NAME = "Zoë [b]bold[/b] [/red] 名前 [relay]"


class HostileSmtp(_Listener):
    """An SMTP server whose every reply is markup-looking text (what a real one may well send)."""

    def _accepted(self, conn) -> None:
        try:
            conn.sendall(b"220 [relay] ready\r\n")
            while conn.recv(1024):
                conn.sendall(b"500 [/red] nope [AUTHENTICATIONFAILED] [b]\r\n")
        except OSError:
            pass


def displayed(app) -> str:
    """What the terminal shows, as text (from the SVG screenshot: what a person would see)."""
    import html
    import re

    svg = app.export_screenshot()
    return html.unescape("".join(re.findall(r"<text[^>]*>(.*?)</text>", svg, re.S))).replace("\xa0", " ")


async def test_server_and_user_text_is_shown_as_text_never_read_as_markup(daemon):
    hostile = HostileSmtp()
    try:
        with daemon.client() as c:
            acc = c.call("accounts.create", {**OWN, "name": HOSTILE_NAME, "smtp": {
                "host": "127.0.0.1", "port": hostile.port, "security": "none", "authenticate": False}})
            result = c.call("accounts.test", {"id": acc["id"]})
            assert "[/red] nope" in result["smtp"]["message"], result
            c.call("contacts.import", {"csv": "email,first_name\nann@example.com,[/red] Ann [b]\n"})
        app = app_for(daemon)
        async with app.run_test(size=(160, 40)) as pilot:
            table = app.query_one(AccountTable)
            await until(pilot, lambda: table.total == 1 and table.current is not None)
            await until(pilot, lambda: "[/red] nope" in displayed(app))  # the detail line, highlighted row
            shown = displayed(app)
            assert HOSTILE_NAME in shown and "[AUTHENTICATIONFAILED]" in shown
            await pilot.press("i")  # the details screen
            await until(pilot, lambda: "Last connection test" in displayed(app))
            assert HOSTILE_NAME in displayed(app) and "500 [/red] nope [AUTHENTICATIONFAILED] [b]" in displayed(app)
            await pilot.press("escape", "t")  # a live test: steps and verdict
            await until(pilot, lambda: "failed" in str(app.screen.query_one("#test-title").render()))
            assert "[/red] nope [AUTHENTICATIONFAILED]" in displayed(app)
            await pilot.press("escape", "c")  # contacts: a contact's details are user text too
            await until(pilot, lambda: "first_name=[/red] Ann [b]" in displayed(app))
    finally:
        hostile.close()


async def test_field_errors_are_displayed_beside_their_fields(daemon):
    app = app_for(daemon)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n", "o")
        await until(pilot, lambda: isinstance(app.screen, AccountForm))
        await type_into(pilot, "#f-name", "Sales")
        assert "required" not in displayed(app), "untouched fields say nothing while you type"
        await type_into(pilot, "#f-email", "not-an-address")
        await type_into(pilot, "#f-smtp-port", "99999")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen.query_one("#e-email").display)
        form = app.screen
        email_error = str(form.query_one("#e-email").render())
        assert email_error and email_error in displayed(app), "the email's error is on the screen"
        form.query_one("#e-smtp-port").scroll_visible()
        await pilot.pause()
        assert "must be 1-65535" in displayed(app)
        assert isinstance(app.screen, AccountForm), "nothing was saved"


async def test_a_form_keeps_what_you_typed(daemon):
    from textual.widgets import Checkbox

    app = app_for(daemon)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n", "o")
        await until(pilot, lambda: isinstance(app.screen, AccountForm))
        await type_into(pilot, "#f-name", "Half typed")
        app.screen.query(Checkbox).first().focus()
        await pilot.press("q", "c")  # app keys: not inside a form
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, AccountForm)
        await pilot.press("escape")  # a changed form asks first
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        assert "Discard the changes" in displayed(app)
        await pilot.press("escape")  # no: back to the form, typing intact
        await until(pilot, lambda: isinstance(app.screen, AccountForm))
        assert app.screen.query_one("#f-name").value == "Half typed"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.click("#yes")
        await until(pilot, lambda: not isinstance(app.screen, (AccountForm, Confirm)))
        await pilot.press("n", "o")  # an untouched form leaves at once
        await until(pilot, lambda: isinstance(app.screen, AccountForm))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, AccountForm))


async def test_a_daemon_the_ui_started_is_started_again_when_it_dies(daemon, monkeypatch):
    """The per-user daemon `mailfleet` started for you is restarted by it, and the banner says so."""
    for key in ("XDG_RUNTIME_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(key, daemon.env[key])  # start_user_daemon() finds the same directories
    monkeypatch.setenv("XDG_STATE_HOME", str(daemon.root / "xdg-state"))
    seed(daemon, 1)
    app = app_for(daemon, timeout=1.0, started_daemon=True)
    restarted_pid = None
    try:
        async with app.run_test(size=SIZE) as pilot:
            table = app.query_one(AccountTable)
            await until(pilot, lambda: table.total == 2)
            daemon.kill()
            banner = app.query_one("#banner")
            await until(pilot, lambda: "restarting the mailfleetd this UI started" in " ".join(displayed(app).split()),
                        timeout=15)
            await until(pilot, lambda: not banner.display, timeout=30)
            await until(pilot, lambda: table.total == 2)
            with daemon.client() as c:
                info = c.call("system.info")
                restarted_pid = info["pid"]
        # The daemon the UI starts logs to $XDG_STATE_HOME/mailfleet/, and says so in system.info.
        log_file = daemon.root / "xdg-state" / "mailfleet" / "mailfleetd.log"
        assert info["paths"]["log"] == str(log_file) and "serving" in log_file.read_text()
        assert oct(log_file.stat().st_mode & 0o777) == "0o600"
    finally:
        if restarted_pid:
            os.kill(restarted_pid, 15)



async def test_approve_and_reject_show_only_on_pending_marketing_accounts(daemon):
    with daemon.client() as c:
        c.call("accounts.create", {**OWN, "name": "A own one"})
        c.call("accounts.create", {"kind": "marketing", "name": "B pending news", "email": "news@example.com"})
    app = app_for(daemon)
    async with app.run_test(size=(160, 30)) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.total == 2 and table.current is not None and app.info)
        await until(pilot, lambda: table.current["kind"] == "own")
        await pilot.pause()
        footer = displayed(app).splitlines()[-1]
        assert "Approve" not in footer and "Reject" not in footer, footer
        await pilot.press("a")  # does nothing here
        await pilot.press("down")
        await until(pilot, lambda: "Approve" in displayed(app).splitlines()[-1])
        assert "Reject" in displayed(app).splitlines()[-1]


@pytest.mark.parametrize("toml,said", [
    ('accounts.new = "insert"\nacounts.delete = "ctrl+d"\n',
     "line 2: no key binding has the id 'acounts.delete'; did you mean accounts.delete?"),
    ('[accounts]\nnew = "ctrl+insrt"\n', "line 2: accounts.new: 'insrt' is not a key name"),
    ('accounts.new = "cntrl+n"\n', "line 1: accounts.new: 'cntrl' in 'cntrl+n' is not a modifier"),
    ('accounts.new = 5\n', "line 1: accounts.new must be a string of keys"),
])
def test_a_typo_in_keys_toml_is_said_with_its_line(daemon, toml, said):
    folder = daemon.paths.config_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "keys.toml").write_text(toml)
    out = subprocess.run([sys.executable, "-m", "mailfleet.tui", "--socket", daemon.endpoint], env=daemon.env,
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 2 and said in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


async def test_the_keys_overlay_lists_every_key_as_remapped(daemon):
    seed(daemon, 1)
    app = app_for(daemon, keymap={"accounts.details": "v"})
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: app.query_one(AccountTable).current is not None)
        await pilot.press("question_mark")
        await until(pilot, lambda: "Keys on this screen" in displayed(app))
        shown = displayed(app)
        assert "v             Info                      accounts.details" in shown
        assert "r             Refresh                   accounts.refresh" in shown  # not in the footer
        assert "ctrl+p" in shown
        await pilot.press("escape")
        await until(pilot, lambda: "Keys on this screen" not in displayed(app))


async def test_columns_sort_and_the_heading_says_how(daemon):
    with daemon.client() as c:
        for name, email in (("Bravo", "c@example.com"), ("Alpha", "z@example.com"), ("Charlie", "a@example.com")):
            c.call("accounts.create", {**OWN, "name": name, "email": email})
    app = app_for(daemon)
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.total == 3 and table.current is not None)
        assert "NAME ▲" in displayed(app) and table.current["name"] == "Alpha"
        await pilot.press("s")  # by address
        await until(pilot, lambda: "EMAIL ▲" in displayed(app) and table.current["name"] == "Charlie")
        assert "NAME ▲" not in displayed(app)
        shown = displayed(app)
        assert shown.index("a@example.com") < shown.index("c@example.com") < shown.index("z@example.com")
        await pilot.press("S")  # the other way round
        await until(pilot, lambda: "EMAIL ▼" in displayed(app) and table.current["name"] == "Alpha")
        shown = displayed(app)
        assert shown.index("z@example.com") < shown.index("c@example.com") < shown.index("a@example.com")


async def test_contacts_import_from_the_tui_move_with_jk_and_follow_changes_live(daemon, tmp_path):
    polish = tmp_path / "kontakty.csv"
    polish.write_bytes("email;imię\nanna@example.com;Żaneta [b]\nbob@example.com;Bob\nnot-an-address;X\n"
                       .encode("cp1250"))  # what Excel saves in a Polish locale
    app = app_for(daemon)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:  # toasts drawn, as a person sees them
        await pilot.press("c")
        await until(pilot, lambda: type(app.screen).__name__ == "ContactsScreen")
        screen = app.screen
        await pilot.press("i")
        await until(pilot, lambda: "Import contacts from a CSV file" in displayed(app))
        await pilot.press(*str(polish), "enter")  # no encoding given: said, not guessed
        await until(pilot, lambda: "line 1 is not utf-8" in displayed(app) and "cp1250" in displayed(app))
        assert screen.query_one("#contacts-table").row_count == 0
        await pilot.press("i")
        await until(pilot, lambda: "Import contacts from a CSV file" in displayed(app))
        await pilot.press(*str(polish), "tab", *"cp1250", "enter")
        await until(pilot, lambda: "2 new, 0 updated, 1 rejected" in displayed(app))
        shown = displayed(app)
        assert "line 4: " in shown and "imię=Żaneta [b]" in shown
        await until(pilot, lambda: screen.query_one("#contacts-table").row_count == 2)
        table = screen.query_one("#contacts-table")
        await pilot.press("j")
        assert table.cursor_row == 1
        await pilot.press("k")
        assert table.cursor_row == 0
        with daemon.client() as c:  # a change made elsewhere (an admin, a round) shows by itself
            c.call("contacts.update", {"email": "bob@example.com", "status": "faulty"})
        await until(pilot, lambda: "faulty" in displayed(app))


async def test_a_notification_leaves_the_detail_line_readable(daemon):
    seed(daemon, 1)
    app = app_for(daemon)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: app.query_one(AccountTable).current is not None)
        app.notify("a notification long enough to reach across")
        await until(pilot, lambda: "a notification long enough" in displayed(app))
        assert "Account 00 <a0@example.com> · own · untested" in displayed(app)


async def test_the_palette_runs_an_account_action_on_the_list(daemon):
    seed(daemon, 1)
    app = app_for(daemon)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.current is not None and app.info)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: "CommandPalette" in type(app.screen).__name__)
        await pilot.press(*"delete")
        await until(pilot, lambda: "Delete" in displayed(app))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        assert f"Delete account {table.current['name']}" in displayed(app)


async def test_an_action_on_an_account_gone_elsewhere_is_said_in_words(daemon):
    seed(daemon, 1)
    app = app_for(daemon)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.current is not None and app.info)
        app.client.on_event = lambda event: None  # the list never hears of it (an event lost on the way)
        with daemon.client() as c:
            c.call("accounts.delete", {"id": table.current["id"]})
        await pilot.press("e")  # the list still shows it: the daemon says the account is gone
        await until(pilot, lambda: "not found" in displayed(app))
        assert app.is_running


async def test_scrolling_a_long_list_keeps_a_bounded_number_of_pages(daemon):
    from mailfleet.tui.components.account_table import MAX_PAGES, PAGE

    rows = (MAX_PAGES + 3) * PAGE
    with daemon.client() as c:
        replies = c.call_many("accounts.create", [{"kind": "marketing", "name": f"Row {i:05}",
                                                   "email": f"r{i}@example.com"} for i in range(rows)],
                              window=100, timeout=30)
        assert all("result" in reply for _, reply in replies)
    app = app_for(daemon)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.total == rows and table.current is not None)
        while table.cursor < rows - 1:  # page down to the end, as a person would
            await pilot.press("pagedown")
            await until(pilot, lambda: table.current is not None)
        await until(pilot, lambda: f"Row {rows - 1:05}" in displayed(app))
        assert len(table._pages) <= MAX_PAGES, "pages far from the screen were let go"
        await pilot.press("g")  # back to the top: fetched again, shown again
        await until(pilot, lambda: "Row 00000" in displayed(app))


async def test_an_account_refused_as_a_sender_says_so_in_the_list_and_its_detail(daemon):
    """The account's health as a mailbox round sets it (tests/e2e/test_reader.py makes it from real bounces);
    here written beside the running daemon, with the hostile words a remote server may put in a refusal."""
    with daemon.client() as c:
        acc = c.call("accounts.create", {**OWN, "name": "Newsletter"})
    with sqlite3.connect(daemon.paths.database) as db:
        db.execute("UPDATE accounts SET health = 'blocked', health_at = '2026-12-06T10:00:00.000Z', "
                   "health_reason = ? WHERE id = ?",
                   ("Spamhaus: 554 5.7.1 [/red] [b]blocked using[/b] zen.spamhaus.org 名前", acc["id"]))
    app = app_for(daemon)
    async with app.run_test(size=(110, 40)) as pilot:
        table = app.query_one(AccountTable)
        await until(pilot, lambda: table.current is not None)
        assert "untested, blocked" in displayed(app)
        await pilot.press("i")
        await until(pilot, lambda: "refused as a sender" in displayed(app))
        shown = " ".join(displayed(app).split())  # the line wraps at the screen's edge
        assert ("refused as a sender: blocked since 2026-12-06 10:00:00 UTC Spamhaus: 554 5.7.1 [/red] "
                "[b]blocked using[/b] zen.spamhaus.org 名前") in shown
