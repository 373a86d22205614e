"""Retention: data kept no longer than its purpose (R4, R8, R11, R13, R30), on a schedule.

Closed accounts past their grace period and accounts nobody used for two years are purged; credits,
trials and unconfirmed opt-ins expire; items past their TTL are deleted before DynamoDB gets to them.
Every rule is idempotent, works within the invocation's time budget and resumes from a saved cursor.

The top of the capabilities, beside privacy: it may use campaigns (an ended trial's waiting campaigns go
back to draft) and accounts, besides models and adapters.
"""
