"""Every program's --help says what each option takes, and its completion and man page come from
the same parser (so they cannot drift from it)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from mailfleet.ctl.cli import build_parser as ctl_parser
from mailfleet.daemon.cli import build_parser as daemon_parser
from mailfleet.tui.cli import build_parser as tui_parser

PROGRAMS = {"mailfleetctl": "mailfleet.ctl", "mailfleetd": "mailfleet.daemon", "mailfleet": "mailfleet.tui"}


def _walk(parser: argparse.ArgumentParser, path: str):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _walk(child, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield path, action


@pytest.mark.parametrize("build", [ctl_parser, daemon_parser, tui_parser])
def test_every_option_says_what_it_takes(build):
    parser = build()
    undocumented = [f"{path} {action.option_strings or action.dest}" for path, action in _walk(parser, parser.prog)
                    if not action.help]
    assert undocumented == []


def run(program: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", PROGRAMS[program], *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("program", PROGRAMS)
def test_man_page_from_the_parser(program):
    page = run(program, "--print-man")
    assert page.returncode == 0, page.stderr
    assert page.stdout.startswith(f'.TH {program.upper()} "1"') and "--version" in page.stdout.replace("\\-", "-")
    if program == "mailfleetctl":
        for command in ("accounts", "contacts", "events", "status", "--failures-only", "--incoming-folder"):
            assert command in page.stdout.replace("\\-", "-"), command


def test_bash_completion_completes_commands_and_choices():
    script = run("mailfleetctl", "--print-completion", "bash")
    assert script.returncode == 0, script.stderr

    def complete(*words: str) -> list[str]:
        line = " ".join(("mailfleetctl", *words))
        probe = (f"{script.stdout}\nCOMP_WORDS=(mailfleetctl {' '.join(words)}); COMP_CWORD={len(words)}; "
                 f"COMP_LINE='{line}'; COMP_POINT={len(line)}; _shtab_mailfleetctl; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
        return subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30).stdout.split()

    assert "accounts" in complete("acc") and "status" in complete("sta")
    assert set(complete("accounts", "list", "--kind", "")) == {"all", "marketing", "own"}
    assert "--failures-only" in complete("accounts", "test", "--fail")
