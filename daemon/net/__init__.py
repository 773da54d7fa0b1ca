"""The network, below both mailbox rounds and connection tests: sockets, proxies, TLS, and the stdlib
IMAP and POP3 clients over sockets we open (so a proxy, a deadline and an abort apply to them).

What a round or a test does over a connection is theirs (`mailbox/`, `probe/`); how the connection is
made, bounded and cut is here, once.
"""
