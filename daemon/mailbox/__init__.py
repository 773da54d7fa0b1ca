"""Reading incoming mailboxes: the protocol sessions, one round, and the schedule."""
