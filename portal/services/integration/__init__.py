"""Integration with the companies' own systems: API tokens (tokens.py), webhook endpoints and
their deliveries (webhooks.py), and the SSRF guard for outgoing calls (egress.py)."""
