"""What every mailfleetctl command module shares."""

from __future__ import annotations

import argparse
from collections.abc import Callable


class Usage(Exception):
    """A usage error found after parsing (exit code 2)."""


# leaf(subparsers, name, help=...) -> a parser that also accepts --json after the command.
Leaf = Callable[..., argparse.ArgumentParser]
