"""The installed mailfleet's version, for --version and system.info alike."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    try:
        return version("mailfleet")
    except PackageNotFoundError:
        return "0+unknown"
