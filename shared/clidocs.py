"""Shell completion and man pages for the three programs, generated from their own argparse parsers,
so neither can drift from `--help`.

`--print-completion {bash,zsh,tcsh}` (shtab: maintained, made for argparse, no runtime hooks in the
program) and `--print-man` (argparse-manpage: the same generator Debian and Fedora package for this).
Both libraries are imported only when asked, so no program starts slower for them.
"""

from __future__ import annotations

import argparse
import sys

from .version import package_version

SHELLS = ("bash", "zsh", "tcsh")


class _Completion(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None) -> None:
        import shtab

        sys.stdout.write(shtab.complete(parser, shell=values))
        parser.exit(0)


class _Man(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from build_manpages.manpage import Manpage

        data = {"project_name": "mailfleet", "version": package_version(), "manual_title": "mailfleet manual",
                "description": parser.description}
        sys.stdout.write(str(Manpage(parser, _data=data)))
        parser.exit(0)


def add_doc_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--print-completion", choices=SHELLS, action=_Completion, metavar="SHELL",
                        help="print a completion script for SHELL (bash, zsh or tcsh) and exit; e.g. "
                             f"{parser.prog} --print-completion bash > ~/.local/share/bash-completion/completions/{parser.prog}")
    parser.add_argument("--print-man", nargs=0, action=_Man,
                        help=f"print the man page (roff) and exit; e.g. {parser.prog} --print-man | man -l -")
