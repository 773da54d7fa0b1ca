"""Connection tests: walk the layers (DNS, TCP or proxy, TLS, greeting, AUTH, the
mail-specific last step) and say which one failed, why, and what to do about it."""
