"""Which blocklist or check a sender-side refusal names, for the account's health ("Spamhaus", "DMARC").

Names as the lists and providers publish them in their reject texts: a person reading the account's
health should know where to go (the list's removal page, the DNS record to fix) without opening the bounce.
"""

from __future__ import annotations

import re

from . import patterns
from .reasons import HELO_REFUSED

# (name, words) in order: a named list before the generic check its text may also mention.
NAMED: list[tuple[str, re.Pattern[str]]] = [(name, patterns.compile(words)) for name, words in (
    ("Spamhaus", r"spamhaus"),  # zen/sbl/xbl/pbl/dbl.spamhaus.org
    ("SpamCop", r"spamcop"),  # bl.spamcop.net
    ("Barracuda", r"barracuda"),  # b.barracudacentral.org
    ("SORBS", r"\bsorbs\b"),
    ("UCEPROTECT", r"uceprotect"),
    ("SpamRATS", r"spamrats"),
    ("PSBL", r"\bpsbl\b"),
    ("Mailspike", r"mailspike"),
    ("Abusix", r"abusix"),
    ("Proofpoint", r"proofpoint|\bpps\b"),
    ("Cloudmark", r"cloudmark"),
    ("Microsoft block list (S3150)", r"s3150|banned sending ip"),  # Outlook.com: "part of their network is on our block list (S3150)"
    ("Outlook 5.7.515 (sender authentication)", r"5\.7\.515"),
    ("Gmail rate limit (4.7.28)", r"4\.7\.28"),
    ("Yahoo deferral (TSS04)", r"tss04"),
    ("DMARC", r"dmarc"),
    ("DKIM", r"dkim"),
    ("SPF", r"\bspf\b|sender policy framework"),
    ("reverse DNS", r"reverse (dns|lookup)|\bptr\b|\brdns\b"),
    ("HELO name", HELO_REFUSED.source),
)]


def named_check(text: str) -> str:
    """The blocklist or check the text names, or ''."""
    low = text.lower()
    return next((name for name, words in NAMED if words.search(low)), "")
