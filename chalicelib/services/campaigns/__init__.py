"""Campaigns: composing a campaign and getting it to its recipients.

The campaign's life cycle (draft, test, send, schedule, pause, resume, cancel), the send gate and its
quota reservation (R5, R8–R11, R34), the content screen and staff reviews (R21), the fan-out of a list into
chunks, and the sender that renders each email and hands it to SES at most once.

Uses audience (who receives it), feedback (the sender waits for SES's reports and applies R22 before each
chunk) and accounts, besides models and adapters; never privacy or retention.
"""
