"""Audience: the people a customer mails and how they come and go.

Contact lists and their fields, subscribers, opt-in and its confirmation, the public pages' actions
(confirm, one-click unsubscribe, hosted signup forms) and their signed links, the account's suppression
list, the subscribe/unsubscribe digests, and a subscriber's activity score (R13–R19, R26, R29).

Uses the accounts capability (an account's plan, state and audit trail), models, adapters and the shared
`services.addresses`; never campaigns, feedback or anything above them.
"""
