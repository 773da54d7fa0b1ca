"""Real MTAs writing real bounces: a private Exim 4, Postfix, sendmail 8 or OpenSMTPD relays a message to a next
hop on 127.0.0.1 (aiosmtpd, answering as a test says, or an LMTP-only Dovecot answering in its own words) and
sends the bounce it writes back to a capture server.

The bounce's every word is the MTA's own: its template, its DSN, its account of the SMTP dialogue. Only the
aiosmtpd next hop's replies are the test's, each written from the server or filter that answers so.

Exim is Debian's exim4-daemon-light, unpacked into build/exim by scripts/system-deps rather than installed
(the package would replace Postfix, which the other tests use). Each instance runs a copy of the binary in
its own directory, with `-C` and its own `exim_path`, as root, delivering as the `Debian-exim` user its build
names: Exim re-executes itself as that user, who may not enter the checkout (a fresh clone under a 0700
directory, as CI makes). sendmail is Debian's sendmail-bin, unpacked into build/sendmail the same way, its
configuration built with m4 from sendmail-cf's own macros; OpenSMTPD, Debian's opensmtpd, into build/opensmtpd.
"""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller

from .servers import PostfixInstance, free_port, wait_for_port

EXIM = Path(__file__).resolve().parents[2] / "build" / "exim" / "usr" / "sbin" / "exim4"
EXIM_USER = "Debian-exim"  # compiled into Debian's Exim (EXIM_USER); system-deps makes the user
SENDMAIL = Path(__file__).resolve().parents[2] / "build" / "sendmail"

SENDER_DOMAIN = "sender.test"  # where the MTA returns bounces: the capture server
RECIPIENT_DOMAIN = "recipient.test"  # what the MTA relays to the next hop
UNROUTABLE_DOMAIN = "nowhere.test"  # a domain the MTA has no route to
LOCAL_DOMAIN = "local.test"  # Exim delivers it itself, into a mailbox of at most 100 bytes


def local_part(address: str) -> str:
    return address.strip("<>").rpartition("@")[0].lower()


@dataclass
class NextHop:
    """The receiving server's answers. RCPT TO is answered by the recipient's local part, MAIL FROM and the
    end of DATA by the sender's; what no table names is taken ("250 OK")."""

    rcpt: dict[str, str] = field(default_factory=dict)
    mail: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        """PIPELINING (RFC 2920) and ENHANCEDSTATUSCODES (RFC 2034) offered, as the servers whose replies the
        tests write do: Exim then says "after pipelined MAIL FROM" where it would say "after MAIL FROM", and
        sendmail takes a reply's enhanced status only from a server that offers them. aiosmtpd reads pipelined
        commands one by one anyway."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", "250-ENHANCEDSTATUSCODES", responses[-1]]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = self.mail.get(local_part(address))
        if reply:
            return _answer(server, reply)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt.get(local_part(address))
        if reply:
            return _answer(server, reply)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return _answer(server, self.data.get(local_part(envelope.mail_from), "250 OK"))


def _answer(server, reply: str) -> str:
    """The reply, and after a 421 the connection closed at once, as the code says (RFC 5321 §3.8: "421
    <domain> Service not available, closing transmission channel"): aiosmtpd would go on answering the commands
    a client pipelined behind (DATA: "503 Error: need RCPT command"). So a 421 is written here and the
    transport closed; aiosmtpd's own writing of the reply it is given back then goes nowhere."""
    if reply.startswith("421"):
        server.transport.write(reply.encode() + b"\r\n")
        server.transport.close()
    return reply


class Capture:
    """Where the MTA sends its bounces: each kept by the address it was sent to."""

    def __init__(self) -> None:
        self.received: dict[str, list[bytes]] = {}
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        with self._arrived:
            for address in envelope.rcpt_tos:
                self.received.setdefault(address.lower(), []).append(envelope.content)
            self._arrived.notify_all()
        return "250 OK"

    def wait(self, address: str, timeout: float = 60.0) -> bytes:
        """The bounce sent to `address`, once it has arrived."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: address.lower() in self.received, timeout):
                raise TimeoutError(f"no bounce came back to {address} within {timeout}s")
            return self.received[address.lower()][0]


class DovecotLmtp:
    """A private Dovecot that only speaks LMTP (RFC 2033) on 127.0.0.1, the last hop of a common self-hosted
    stack: it knows the users in `users` (local part -> quota, Dovecot's quota_rule storage, "" for none) and
    answers for the rest, and for a full mailbox, in its own words."""

    def __init__(self, root: Path, domain: str, users: dict[str, str], sieve: dict[str, str] | None = None,
                 submission: int = 0) -> None:
        self.root, self.domain, self.users = root, domain, users
        # Sieve scripts (local part -> script, run by Pigeonhole at delivery) and the SMTP port on 127.0.0.1
        # where Dovecot sends what they send (a vacation reply, a rejection).
        self.sieve, self.submission = sieve or {}, submission
        self.port = free_port()
        self.config = root / "dovecot.conf"

    def start(self) -> "DovecotLmtp":
        mail = self.root / "mail"
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        shutil.chown(mail, "dovecot", "dovecot")
        # passwd-file fields: user:password:uid:gid:gecos:home:shell:extra (userdb_quota_rule per user)
        (self.root / "users").write_text("".join(
            f"{local}@{self.domain}:::::::{'userdb_quota_rule=*:storage=' + quota if quota else ''}\n"
            for local, quota in self.users.items()))
        for local, script in self.sieve.items():
            home = mail / f"{local}@{self.domain}"
            home.mkdir(exist_ok=True)
            (home / ".dovecot.sieve").write_text(script)
            for path in (home, home / ".dovecot.sieve"):
                shutil.chown(path, "dovecot", "dovecot")
        sieve = f"""
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
plugin {{
  sieve = file:~/sieve;active=~/.dovecot.sieve
}}
submission_host = 127.0.0.1:{self.submission}
postmaster_address = postmaster@{self.domain}
hostname = mx.{self.domain}
""" if self.sieve else ""
        self.config.write_text(f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
listen = 127.0.0.1
protocols = lmtp
mail_location = maildir:{mail}/%u
first_valid_uid = 1
ssl = no
mail_plugins = quota
plugin {{
  quota = maildir:User quota
}}
passdb {{
  driver = passwd-file
  args = username_format=%u {self.root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.root}/users
  default_fields = uid=dovecot gid=dovecot home={mail}/%u
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.port}
  }}
}}
service anvil {{
  chroot =
}}
{sieve}
""")
        with open(self.root / "start.log", "ab") as log:
            subprocess.run(["dovecot", "-c", str(self.config)], check=True, stdout=log, stderr=log,
                           stdin=subprocess.DEVNULL)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        subprocess.run(["doveadm", "-c", str(self.config), "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def smtp_server(handler: object, smtputf8: bool = False, size: int = 33554432) -> Controller:
    """aiosmtpd on 127.0.0.1 answering as `handler` says; SMTPUTF8 (RFC 6531) offered when asked; SIZE (RFC
    1870) at `size` bytes (aiosmtpd's default, 32 MiB, unless told)."""
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=smtputf8,
                            data_size_limit=size)
    controller.start()
    return controller


def submit(port: int, sender: str, recipients: list[str], message: bytes) -> None:
    """Hand a message to an MTA's SMTP server on 127.0.0.1, asking for SMTPUTF8 (RFC 6531) where an address is
    not ASCII."""
    utf8 = not all(address.isascii() for address in (sender, *recipients))
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(sender, recipients, message, mail_options=["SMTPUTF8"] if utf8 else [])


@dataclass(frozen=True)
class Routes:
    """Where a relaying MTA sends each domain, each to a port on 127.0.0.1: RECIPIENT_DOMAIN to the next hop
    (by LMTP, RFC 2033, when `lmtp`: a final delivery agent such as DovecotLmtp), SENDER_DOMAIN (the bounces)
    to the capture server, and each of `more` by SMTP."""

    next_hop: int
    capture: int
    lmtp: bool = False
    more: dict[str, int] = field(default_factory=dict)

    def each(self) -> list[tuple[str, int, bool]]:
        """(domain, port, by LMTP) for every domain routed."""
        return [(RECIPIENT_DOMAIN, self.next_hop, self.lmtp), (SENDER_DOMAIN, self.capture, False),
                *((domain, port, False) for domain, port in self.more.items())]


class _QueueRunning:
    """An MTA instance that may leave a queue runner behind (a daemon in its own session, its pid first in
    `pid_file`), every process of it naming `config` on its command line."""

    config: Path
    pid_file: Path

    def stop(self) -> None:
        """Stop the queue runner and the queue runs it started (its process group: the daemon calls setsid),
        and wait until no process of this instance is left to write into its directory."""
        if not self.pid_file.exists():
            return
        try:
            os.killpg(int(self.pid_file.read_text().split()[0]), signal.SIGTERM)
        except ProcessLookupError:
            pass  # gone already
        deadline = time.monotonic() + 10
        while self._processes() and time.monotonic() < deadline:
            time.sleep(0.05)

    def _processes(self) -> list[int]:
        """This instance's live processes: those whose command line names its configuration."""
        mine = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and str(self.config).encode() in (entry / "cmdline").read_bytes():
                    mine.append(int(entry.name))
            except OSError:
                continue  # ended meanwhile
        return mine


class Exim(_QueueRunning):
    """A private Exim 4: mail for RECIPIENT_DOMAIN goes to the next hop, for SENDER_DOMAIN (the bounces) to
    the capture server, for LOCAL_DOMAIN into a file (appendfile) with a quota; no router takes any other
    domain. No retry rules: Exim's specification ("Retry configuration") says a temporary error then fails
    the address at once, as a retry time running out does."""

    def __init__(self, root: Path, next_hop: int, capture: int, warn_after: str = "", lmtp: bool = False,
                 routes: dict[str, int] | None = None) -> None:
        self.root, self.routes = root, Routes(next_hop, capture, lmtp, routes or {})
        # With `warn_after` (an Exim time, "1s"), a temporary error is retried for a day instead, by a queue
        # runner every second, which sends the delay warning once a message has waited that long.
        self.warn_after = warn_after
        self.config = root / "exim.conf"
        self.pid_file = root / "exim.pid"
        self.binary = root / "exim4"

    def start(self) -> "Exim":
        spool, mail = self.root / "spool", self.root / "mail"
        for path in (self.root, spool, mail):  # Exim writes its spool, logs and mailboxes as its user
            path.mkdir(parents=True, exist_ok=True)
            shutil.chown(path, EXIM_USER, EXIM_USER)
        shutil.copyfile(EXIM, self.binary)
        os.chmod(self.binary, 0o755)  # not setuid: only root runs it here
        hops = [(f"hop{i}", domain, port, "lmtp" if lmtp else "smtp")
                for i, (domain, port, lmtp) in enumerate(self.routes.each())]
        routes = "\n".join(f"""
{name}:
  driver = manualroute
  domains = {domain}
  transport = {name}
  route_list = * 127.0.0.1
  self = send""" for name, domain, _, _ in hops)
        transports = "\n".join(f"""
{name}:
  driver = smtp
  protocol = {protocol}
  port = {port}
  allow_localhost
  connect_timeout = 2s
  command_timeout = 2s
  hosts_try_fastopen =""" for name, _, port, protocol in hops)
        self.config.write_text(f"""
primary_hostname = mx.{SENDER_DOMAIN}
exim_path = {self.binary}
exim_user = {EXIM_USER}
exim_group = {EXIM_USER}
spool_directory = {spool}
log_file_path = {self.root}/%slog
pid_file_path = {self.pid_file}
keep_environment =
{f"delay_warning = {self.warn_after}" if self.warn_after else ""}
begin routers
{routes}
local:
  driver = accept
  domains = {LOCAL_DOMAIN}
  transport = mailbox
begin transports
{transports}
mailbox:
  driver = appendfile
  file = {mail}/mailbox
  user = {EXIM_USER}
  quota = 100
begin retry
{"* * F,1d,1s" if self.warn_after else ""}
""")  # one mailbox file for all: a file name made from the address would be tainted
        if self.warn_after:
            subprocess.run([str(self.binary), "-C", str(self.config), "-q1s", "-oP", str(self.pid_file)], check=True,
                           capture_output=True, timeout=30)  # forks the queue runner, which writes its pid
        return self

    def send(self, sender: str, recipients: list[str], message: bytes) -> None:
        """Hand the message to Exim and have it delivered now, in the foreground (-odi). Its exit status says
        whether every delivery succeeded, so it is not an error here: the bounce, or its absence, tells."""
        subprocess.run([str(self.binary), "-C", str(self.config), "-odi", "-f", sender, *recipients], input=message,
                       capture_output=True, timeout=60)

    def log(self) -> str:
        path = self.root / "mainlog"
        return path.read_text(errors="replace") if path.exists() else ""


class PostfixRelay(PostfixInstance):
    """A private Postfix that takes mail from 127.0.0.1 by SMTP and relays it: RECIPIENT_DOMAIN to the next
    hop, SENDER_DOMAIN (the bounces) to the capture server, anything else by DNS (which this machine does not
    reach). maximal_queue_lifetime = 0: postconf(5), "delivery should be tried only once", so a temporary
    error is returned at once as a permanent one."""

    def __init__(self, root: Path, next_hop: int, capture: int, settings: str = "", lmtp: bool = False,
                 routes: dict[str, int] | None = None) -> None:
        super().__init__(root)
        self.routes = Routes(next_hop, capture, lmtp, routes or {})  # by LMTP: Postfix's lmtp(8) delivers
        self.extra = settings  # main.cf lines that override those below (written once each: once_each)

    def settings(self) -> str:
        transports = ", ".join(f"{domain}={'lmtp:inet' if lmtp else 'smtp'}:[127.0.0.1]:{port}"
                               for domain, port, lmtp in self.routes.each())
        return f"""
myhostname = mx.{SENDER_DOMAIN}
transport_maps = inline:{{ {transports} }}
smtp_connect_timeout = 2s
smtp_helo_timeout = 2s
maximal_queue_lifetime = 0
bounce_queue_lifetime = 0
{self.extra}
"""

    def send(self, sender: str, recipients: list[str], message: bytes) -> None:
        submit(self.port, sender, recipients, message)


class Sendmail(_QueueRunning):
    """A private sendmail 8: its mailertable sends RECIPIENT_DOMAIN to the next hop and SENDER_DOMAIN (the
    bounces) to the capture server, each through a mailer of its own whose only difference from sendmail's
    `esmtp` (cf/mailer/smtp.m4) is the port. Timeout.queuereturn is 0: a message is returned as soon as a try
    fails for now ("could not be delivered for zero seconds"), so a temporary refusal comes back at once, as
    sendmail writes a message that timed out. With `warn_after` ("1s") it is retried for a day instead, by a
    queue runner every second, and a delay warning sent after that long (Timeout.queuewarn).

    sendmail asks for its host's name before it reads any configuration, and sleeps a minute to try again when
    the name has no dot ("My unqualified host name ... unknown; sleeping for retry", main.c), as this
    machine's has not: each run is given a name of its own in a UTS namespace (unshare(1)) instead."""

    def __init__(self, root: Path, next_hop: int, capture: int, warn_after: str = "", lmtp: bool = False,
                 routes: dict[str, int] | None = None) -> None:
        self.root = root
        self.routes = Routes(next_hop, capture, lmtp, routes or {})  # by LMTP: the mailer's flag F=z
        self.warn_after = warn_after
        self.config = root / "sendmail.cf"
        self.pid_file = root / "sendmail.pid"

    def start(self) -> "Sendmail":
        queue = self.root / "queue"
        queue.mkdir(parents=True, exist_ok=True)
        os.chmod(queue, 0o700)
        hops = [(domain, port, "mDFMuXaz" if lmtp else "mDFMuXa") for domain, port, lmtp in self.routes.each()]
        (self.root / "mailertable").write_text("".join(f"{domain} hop{i}:[127.0.0.1]\n"
                                                       for i, (domain, _, _) in enumerate(hops)))
        mailers = "".join(f"Mhop{i}, P=[IPC], F={flags}, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, "
                          f"L=990, T=DNS/RFC822/SMTP, A=TCP $h {port}\n" for i, (_, port, flags) in enumerate(hops))
        queue_return, queue_warn = ("1d", self.warn_after) if self.warn_after else ("0s", "1d")
        cf = SENDMAIL / "usr" / "share" / "sendmail" / "cf"
        macros = f"""divert(-1)
include(`{cf}/m4/cf.m4')
divert(0)dnl
OSTYPE(`linux')dnl
define(`confDOMAIN_NAME', `mx.{SENDER_DOMAIN}')dnl
define(`QUEUE_DIR', `{queue}')dnl
define(`STATUS_FILE', `{self.root}/statistics')dnl
define(`confPID_FILE', `{self.pid_file}')dnl
define(`ALIAS_FILE', `')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`confDONT_BLAME_SENDMAIL', `MapInUnsafeDirPath')dnl
define(`confSERVICE_SWITCH_FILE', `{self.root}/service.switch')dnl
define(`confTO_CONNECT', `2s')dnl
define(`confTO_INITIAL', `2s')dnl
define(`confTO_HELO', `2s')dnl
define(`confTO_MAIL', `2s')dnl
define(`confTO_RCPT', `2s')dnl
define(`confTO_DATAFINAL', `10s')dnl
define(`confTO_QUEUERETURN', `{queue_return}')dnl
define(`confTO_QUEUEWARN', `{queue_warn}')dnl
FEATURE(`nocanonify')dnl
FEATURE(`mailertable', `text -k0 -v1 {self.root}/mailertable')dnl
MAILER(`smtp')dnl
MAILER_DEFINITIONS
{mailers}"""
        # sendmail's own host lookups from /etc/hosts, not DNS (its `hosts` service): with DNS each delivery
        # waited on the resolver, 59 s for the module's messages against 9. (The C library still asks DNS for
        # the host's own name, before any configuration is read.)
        (self.root / "service.switch").write_text("hosts files\n")
        self.config.write_text(subprocess.run(["m4"], input=macros, capture_output=True, text=True, check=True,
                                              timeout=30).stdout)
        if self.warn_after:
            self._run("-q1s")  # forks the queue runner, which writes its pid
        return self

    def send(self, sender: str, recipients: list[str], message: bytes) -> None:
        """Hand the message to sendmail and have it delivered now, in the foreground (-odi); as with Exim,
        the bounce, or its absence, tells how it went."""
        self._run("-odi", "-f", sender, *recipients, input=message, check=False)

    def _run(self, *arguments: str, input: bytes | None = None, check: bool = True) -> None:
        binary = SENDMAIL / "usr" / "libexec" / "sendmail" / "sendmail"
        subprocess.run(["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', f"mx.{SENDER_DOMAIN}",
                        str(binary), "-C", str(self.config), *arguments], input=input, capture_output=True,
                       check=check, timeout=60)

    def log(self) -> str:
        """What is still queued, and why (sendmail logs to syslog, which is not there)."""
        return "".join(path.read_text(errors="replace") for path in sorted((self.root / "queue").glob("qf*")))


OPENSMTPD = Path(__file__).resolve().parents[2] / "build" / "opensmtpd" / "usr" / "sbin" / "smtpd"


class OpenSMTPD:
    """A private OpenSMTPD 6.8 (Debian's, unpacked into build/opensmtpd): it takes mail from 127.0.0.1 by SMTP
    and relays RECIPIENT_DOMAIN to the next hop (by LMTP when `lmtp`), SENDER_DOMAIN (the bounces) to the
    capture server. A permanent refusal comes back at once. A temporary one comes back once the message has
    been queued longer than `ttl` (smtpd.conf(5) `queue ttl`), which the scheduler sees only when it tries the
    message again, after a back-off that grows with each try (5 s first; 15 s and more for a message among a
    hundred): a short ttl is for one message at a time, since it holds for the bounces too, and a bounce that
    waits behind a hundred others for its route is dropped as expired ("no return path"). With `warn_after`
    ("1s") it warns after that long (`bounce warn-interval`) and keeps the message a day.

    Its paths are compiled in (/var/spool/smtpd, /var/run/smtpd.sock, /var/lib/opensmtpd/empty, which it
    chroots its unprivileged processes into): each instance runs in a mount namespace of its own (unshare(1))
    with empty file systems over /var/spool, /run and /var/lib, and a host name of its own (it names itself
    in its bounces). Its unprivileged users, `opensmtpd` and `opensmtpq`, scripts/system-deps makes."""

    def __init__(self, root: Path, next_hop: int, capture: int, warn_after: str = "", lmtp: bool = False,
                 routes: dict[str, int] | None = None, ttl: str = "1d") -> None:
        self.root = root
        self.routes = Routes(next_hop, capture, lmtp, routes or {})
        self.warn_after, self.ttl = warn_after, ttl
        self.port = free_port()
        self.config = root / "smtpd.conf"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> "OpenSMTPD":
        self.root.mkdir(parents=True, exist_ok=True)
        hops = list(self.routes.each())
        actions = "".join(f'action "hop{i}" relay host {"lmtp" if lmtp else "smtp"}://127.0.0.1:{port}\n'
                          for i, (_, port, lmtp) in enumerate(hops))
        # "from any" for mail from 127.0.0.1, "from local" for the bounces smtpd writes itself
        matches = "".join(f'match from {source} for domain "{domain}" action "hop{i}"\n'
                          for i, (domain, _, _) in enumerate(hops) for source in ("any", "local"))
        warn = f"bounce warn-interval {self.warn_after}\n" if self.warn_after else ""
        listen = f"listen on 127.0.0.1 port {self.port}\n"
        self.config.write_text(f"queue ttl {self.ttl}\n{warn}{listen}{actions}{matches}")
        # Names from /etc/hosts alone (libasr reads OpenBSD's `lookup` keyword in resolv.conf): asked the
        # machine's DNS, it waited 5 s for the name of 127.0.0.1 every twenty connections or so.
        (self.root / "resolv.conf").write_text("lookup file\n")
        script = ("set -e; for d in /var/spool /run /var/lib; do mount -t tmpfs tmpfs $d; done; "
                  f"mount --bind {self.root}/resolv.conf /etc/resolv.conf; "
                  'mkdir -p /var/lib/opensmtpd/empty; hostname "$0"; exec "$@"')
        with open(self.root / "log", "ab") as log:
            self._process = subprocess.Popen(
                ["unshare", "--mount", "--uts", "sh", "-c", script, f"mx.{SENDER_DOMAIN}", str(OPENSMTPD), "-d",
                 "-f", str(self.config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.stop()
            raise TimeoutError(f"OpenSMTPD did not start: {self.log()}") from None
        return self

    def stop(self) -> None:
        if self._process is None:
            return
        try:
            os.killpg(self._process.pid, signal.SIGTERM)  # smtpd and the processes it forked
        except ProcessLookupError:
            pass
        self._process.wait(timeout=10)

    def send(self, sender: str, recipients: list[str], message: bytes) -> None:
        submit(self.port, sender, recipients, message)  # (OpenSMTPD 6.8 offers no SMTPUTF8)

    def log(self) -> str:
        path = self.root / "log"
        return path.read_text(errors="replace") if path.exists() else ""
