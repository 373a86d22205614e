"""Accounts: who the customers are and what they may do.

Signup and email verification, the account and its profile, staff review, plans and their limits (R1–R12,
R34); sign-in, sessions, password resets and API keys (R2, R3); the audit trail (R4); rate limits; the
account's sending domains; the emails the service sends its own users.

The lowest of the capabilities: it uses models, adapters and the shared `services.addresses` and
`services.countries`, and no other capability.
"""
