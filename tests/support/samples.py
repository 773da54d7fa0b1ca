"""Accounts as a client sends them: one own account with SMTP, one marketing account."""

OWN = {
    "kind": "own",
    "name": "Sales team",
    "email": "sales@example.com",
    "display_name": "ACME Sales",
    "smtp": {"host": "smtp.example.com", "port": 587, "user": "sales", "password": "s3cret-smtp-pw", "security": "starttls"},
}
MARKETING = {"kind": "marketing", "name": "Newsletter", "email": "news@example.com", "display_name": "ACME News"}
