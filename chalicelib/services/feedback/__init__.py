"""Feedback: what became of every email after it left.

SES's events (bounces, complaints, deliveries, rejects) applied once each, with their suppressions; the
per-campaign auto-stop (R22); opens and clicks and who made them (R20, R25); a campaign's report and
the support look-ups (R27). A subscriber's activity counters move here; their score (R26) is audience's.

Uses audience (a bounce or complaint changes a member and the suppression list) and accounts (the owner is
told of a stop), besides models and adapters; never campaigns or anything above them.
"""
