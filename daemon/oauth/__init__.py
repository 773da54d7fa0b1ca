"""OAuth 2.0 sign-in for accounts: talking to the provider (provider.py), keeping tokens fresh
(broker.py) and the sign-in flows a person finishes (signin.py)."""
