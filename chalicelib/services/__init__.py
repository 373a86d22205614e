"""The use cases and the product rules (R1–R34), one package per capability a user would name.

    privacy | retention   recipients' rights, erasure, account export and closing | scheduled purges, expiries
    campaigns             life cycle, send gate and quota, screening and reviews, fan-out, the sender
    feedback              SES events, auto-stop, opens and clicks, reports, activity, support look-ups
    audience              lists, subscribers, opt-in, public pages, suppressions, digests
    accounts              signup, auth and API keys, audit, plans, staff review, sending domains
    addresses, countries  rules every capability shares: email addresses (R15), country codes

A capability may use those below it, never one above or beside it; no Chalice and no raw events here,
and no boto3 or PynamoDB: services reach AWS through models and adapters.
"""
