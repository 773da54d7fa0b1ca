"""Sending through the accounts: what is handed over (compose.py), the queue it waits in (accept.py),
and the sender that delivers it, within the account's limits, retrying what may be retried and
recording what a server refused as a bounce (sender.py)."""
