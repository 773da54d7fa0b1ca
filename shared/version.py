"""The installed mailfleet's version, for --version and system.info alike."""

from __future__ import annotations

import argparse
from typing import Any


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # 30 ms of start-up: only when asked

    try:
        return version("mailfleet")
    except PackageNotFoundError:
        return "0+unknown"


class VersionAction(argparse.Action):
    """--version, looked up when it is asked for rather than whenever the parser is built."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kw: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help=kw.get("help", "show the version and exit"))

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from .bounces import build

        # On stdout, as argparse's own version action; and whether the installation compiled the classifier,
        # which pip says only when run with -v.
        print(f"{parser.prog} {package_version()}\nbounce classifier: {build()}")
        parser.exit()
