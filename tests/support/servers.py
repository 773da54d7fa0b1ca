"""Real mail servers on 127.0.0.1 for tests and benchmarks: private instances, own ports and dirs.

See ../shared/TESTING.md for what each needed on these machines.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


class Dovecot:
    """A private Dovecot serving IMAP and POP3 (optionally IMAPS/POP3S) for users in a passwd-file."""

    def __init__(self, root: Path, *, cert: Path | None = None, key: Path | None = None, extra: str = "",
                 introspection_url: str | None = None) -> None:
        self.root = root
        self.extra = extra  # more dovecot.conf lines, e.g. to play an older server
        # OAuth 2.0 sign-in (XOAUTH2, OAUTHBEARER) with its oauth2 passdb, each token introspected (RFC 7662)
        # at this URL (with the introspecting client's credentials in it); passwords still work beside it.
        self.introspection_url = introspection_url
        self.imap_port = free_port()
        self.pop3_port = free_port()
        self.imaps_port = free_port() if cert else 0
        self.pop3s_port = free_port() if cert else 0
        self.cert, self.key = cert, key
        self.mail = root / "mail"
        self.config = root / "dovecot.conf"
        self.passwd = root / "passwd"
        self.users: dict[str, str] = {}

    def add_user(self, user: str, password: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.users[user] = password
        self.passwd.write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self.users.items()))

    def start(self) -> "Dovecot":
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        _chown_tree(self.mail, "dovecot")
        if not self.passwd.exists():
            self.passwd.write_text("")
        ssl = (
            f"ssl = yes\nssl_cert = <{self.cert}\nssl_key = <{self.key}\n" if self.cert else "ssl = no\n"
        )
        self.config.write_text(f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
listen = 127.0.0.1
protocols = imap pop3
mail_location = maildir:{self.mail}/%u
disable_plaintext_auth = no
auth_mechanisms = plain login{" xoauth2 oauthbearer" if self.introspection_url else ""}
first_valid_uid = 1
{ssl}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
  mechanisms = plain login
}}
{self._oauth2_passdb()}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={self.mail}/%u
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
service imap-login {{
  chroot =
  # High-performance mode (one login process serves many clients), as busy servers run.
  service_count = 0
  process_min_avail = 2
  inet_listener imap {{
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = {self.imaps_port}
  }}
}}
service pop3-login {{
  chroot =
  service_count = 0
  process_min_avail = 2
  inet_listener pop3 {{
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = {self.pop3s_port}
  }}
}}
service anvil {{
  chroot =
  # A refused token costs no growing penalty delay (0.5, 4.5, 8.5 s... from one IP otherwise).
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{self.extra}
service imap {{
  # Post-login processes kept and shared (every user maps to the one dovecot uid), as a busy
  # server keeps them: a fork and exec per login would otherwise dominate a burst of logins.
  service_count = 0
  client_limit = 100
  process_min_avail = 2
}}
service pop3 {{
  service_count = 0
  client_limit = 100
  process_min_avail = 2
}}
""")
        # No pipes: the daemon would inherit them and run() would wait for their end forever.
        with open(self.root / "start.log", "ab") as log:
            subprocess.run(["dovecot", "-c", str(self.config)], check=True, stdout=log, stderr=log,
                           stdin=subprocess.DEVNULL)
        wait_for_port(self.imap_port)
        wait_for_port(self.pop3_port)
        return self

    def _oauth2_passdb(self) -> str:
        if not self.introspection_url:
            return ""
        # Dovecot's oauth2 passdb (doc.dovecot.org, "OAuth2"): the token's `email` must be the SASL user,
        # and its scope must hold "mail".
        (self.root / "oauth2.conf.ext").write_text(
            f"introspection_mode = post\nintrospection_url = {self.introspection_url}\n"
            "username_attribute = email\nactive_attribute = active\nactive_value = true\nscope = mail\n")
        return (f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {self.root}/oauth2.conf.ext\n}}\nauth_failure_delay = 0")

    def stop(self) -> None:
        subprocess.run(["doveadm", "-c", str(self.config), "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.imap_port), timeout=0.2):
                    pass
            except OSError:
                return
            time.sleep(0.02)

    def imap(self, user: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.imap_port)
        conn.login(user, self.users[user])
        return conn

    def append(self, user: str, raw: bytes, folder: str = "INBOX", flags: str = "") -> None:
        conn = self.imap(user)
        try:
            if folder != "INBOX":
                conn.create(folder)
            typ, _ = conn.append(folder, flags or None, None, raw)
            assert typ == "OK"
        finally:
            conn.logout()

    def messages(self, user: str, folder: str = "INBOX") -> list[tuple[bytes, bytes]]:
        """(flags, raw) of every message, read with PEEK so nothing changes."""
        conn = self.imap(user)
        try:
            conn.select(folder, readonly=True)
            typ, data = conn.uid("SEARCH", "ALL")
            uids = data[0].split()
            out = []
            for uid in uids:
                typ, fetched = conn.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
                meta, raw = fetched[0]
                out.append((meta, raw))
            return out
        finally:
            conn.logout()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def postfix_master_cf(root: Path, port: int) -> None:
    """The system's master.cf, its SMTP server listening on 127.0.0.1:`port`, outside a chroot."""
    lines = []
    for line in Path("/etc/postfix/master.cf").read_text().splitlines():
        if line.startswith("smtp ") and " inet " in line:
            parts = line.split()
            parts[0] = f"127.0.0.1:{port}"
            parts[4] = "n"
            line = "  ".join(parts)
        lines.append(line)
    (root / "master.cf").write_text("\n".join(lines) + "\n")


def once_each(main_cf: str) -> str:
    """main.cf with each parameter once, its last value kept. A parameter given twice makes every Postfix process
    warn at start ("overriding earlier entry"), through postlogd when maillog_file is set; postlogd logs the
    warning too, to its own socket, and when the start's burst of warnings has filled that socket's queue
    (Linux's net.unix.max_dgram_qlen: 10) it waits on itself for good, and so does every process that logs:
    an smtpd that never greets, a `postfix stop` that never returns (seen in the delay-warning test, whose
    settings override two of PostfixRelay's)."""
    params: dict[str, str] = {}
    last = ""
    for line in main_cf.splitlines():
        if line[:1].isspace() and last:
            params[last] += "\n" + line  # a value continued on the next line
        elif "=" in line and not line.lstrip().startswith("#"):
            last = line.split("=", 1)[0].strip()
            params.pop(last, None)  # keep the order of the last setting
            params[last] = line.split("=", 1)[1].strip()
    return "".join(f"{name} = {value}\n" for name, value in params.items())


class PostfixInstance:
    """A private Postfix in `root`, its SMTP server on 127.0.0.1:`port`, logging to `root`/maillog. What it
    does with mail is its subclass's `settings()`: the main.cf lines beyond those every instance needs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()

    def settings(self) -> str:
        raise NotImplementedError

    def start(self) -> "PostfixInstance":
        queue, data = self.root / "queue", self.root / "data"
        for d in (queue, data):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        shutil.chown(data, "postfix")
        (self.root / "main.cf").write_text(once_each(f"""
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
smtp_tls_security_level = none
alias_maps =
alias_database =
maillog_file = {self.root}/maillog
maillog_file_prefixes = /var, /dev/stdout, {self.root}
smtputf8_enable = no
{self.settings()}
"""))
        postfix_master_cf(self.root, self.port)
        with open(self.root / "start.log", "ab") as log:
            proc = subprocess.run(["postfix", "-c", str(self.root), "start"], stdout=log, stderr=log,
                                  stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise RuntimeError(f"postfix did not start: {(self.root / 'start.log').read_text()}")
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        try:
            subprocess.run(["postfix", "-c", str(self.root), "stop"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
        except subprocess.TimeoutExpired:
            # Once seen: an instance that had stopped answering hung `postfix stop` too (its `master -t`), until
            # pytest's timeout. Its master is killed outright; its children leave when their master is gone.
            pid_file = self.root / "queue" / "pid" / "master.pid"
            pid = pid_file.read_text().split() if pid_file.exists() else []
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid[0]), signal.SIGKILL)

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""


class Postfix(PostfixInstance):
    """A private Postfix that delivers USER@DOMAIN (and USER+anything@DOMAIN) into a Dovecot Maildir and
    bounces unknown users of DOMAIN there later, or, with `reject_unlisted`, refuses them at RCPT (Postfix's
    default). Mail for the domain `later[0]` is taken and relayed to the SMTP server on 127.0.0.1 port
    `later[1]`: what that server refuses, Postfix bounces later, as a relay does."""

    def __init__(self, root: Path, dovecot: Dovecot, domain: str = "bounce.test", user: str = "bounces", *,
                 reject_unlisted: bool = False, later: tuple[str, int] | None = None) -> None:
        super().__init__(root)
        self.dovecot = dovecot
        self.domain = domain
        self.user = user
        self.reject_unlisted = reject_unlisted
        self.later = later

    def settings(self) -> str:
        dove = pwd.getpwnam("dovecot")
        return f"""
myhostname = mx.{self.domain}
smtpd_reject_unlisted_recipient = {"yes" if self.reject_unlisted else "no"}
recipient_delimiter = +
transport_maps = {f"inline:{{ {self.later[0]}=smtp:[127.0.0.1]:{self.later[1]} }}" if self.later else ""}
virtual_mailbox_domains = {self.domain}
virtual_mailbox_base = {self.dovecot.mail}
virtual_mailbox_maps = inline:{{ {self.user}@{self.domain}={self.user}@{self.domain}/ }}
virtual_uid_maps = static:{dove.pw_uid}
virtual_gid_maps = static:{dove.pw_gid}
"""
