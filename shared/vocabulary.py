"""The words the API is spoken in — kinds, statuses, sort keys — with no imports, so the command
line can offer them in `--help` and completion without loading pydantic (200 ms at every start)."""

KINDS = ("marketing", "own")
MARKETING_STATUSES = ("pending", "active", "rejected")
OWN_STATUSES = ("untested", "active", "smtp_failing", "incoming_failing", "signin_required", "reauth_required")
STATUSES = MARKETING_STATUSES + tuple(s for s in OWN_STATUSES if s not in MARKETING_STATUSES)
SORT_KEYS = ("name", "email", "created_at", "updated_at", "status", "kind", "id")
