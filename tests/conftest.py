"""Fixtures for both tiers: a real mailfleetd process per test (tests/support/daemons.py), sample
accounts, and a check that no test password ever reaches a daemon's log."""

from __future__ import annotations

import copy
import os
import signal

import pytest

from .support import wheel
from .support.daemons import TEST_SECRETS, Daemon, scratch_dir
from .support.samples import MARKETING, OWN


@pytest.fixture
def short_tmp():
    yield from scratch_dir()


@pytest.fixture(scope="session")
def compiled_site(tmp_path_factory):
    """The wheel a user installs (its classifier compiled by mypyc), unpacked: first on PYTHONPATH, a
    process runs it instead of the editable, plain-Python .venv. Built once for the whole run."""
    return wheel.unpacked(tmp_path_factory.mktemp("wheel"))


@pytest.fixture
def make_daemon(short_tmp):
    made: list[Daemon] = []

    def make(**kw) -> Daemon:
        root = short_tmp / f"d{len(made)}"
        root.mkdir()
        os.chmod(root, 0o755)
        d = Daemon(root, **kw)
        made.append(d)
        return d

    yield make
    for d in made:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.send_signal(signal.SIGCONT)  # in case a test stopped it
            d.proc.kill()
            d.proc.wait()
    # Log hygiene, for every daemon of every test: no password the tests use ever appears.
    for d in made:
        log = d.log()
        leaked = [secret for secret in TEST_SECRETS if secret in log]
        assert not leaked, f"secrets in the daemon log: {leaked}"


@pytest.fixture
def daemon(make_daemon) -> Daemon:
    return make_daemon().start()


@pytest.fixture
def client(daemon):
    with daemon.client() as c:
        yield c


@pytest.fixture
def own_account():
    return copy.deepcopy(OWN)


@pytest.fixture
def marketing_account():
    return dict(MARKETING)
