"""Receivables and overdue-payment reminders (issue 6): ledger, CSV import, escalation policy,
the reminder run with its digests, collection tasks with dunning letters, and the follow-up page.
"""
