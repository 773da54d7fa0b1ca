"""Accounts as a client sends them: one own account with SMTP, one marketing account."""

OWN = {
    "kind": "own",
    "name": "Sales team",
    "email": "sales@example.com",
    "display_name": "ACME Sales",
    "smtp": {"host": "smtp.example.com", "port": 587, "user": "sales", "password": "s3cret-smtp-pw", "security": "starttls"},
}
MARKETING = {"kind": "marketing", "name": "Newsletter", "email": "news@example.com", "display_name": "ACME News"}


def dsn(recipient: str, status: str, diagnostic: str, mid: str, to: str = "box@bounce.test") -> bytes:
    """A delivery status notification (RFC 3464) for one recipient, as an MTA writes it."""
    return (
        f"From: MAILER-DAEMON@mx.example.net\r\nTo: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {mid}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n\r\n--B--\r\n"
    ).encode()
