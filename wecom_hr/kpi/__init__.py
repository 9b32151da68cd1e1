"""Salesperson KPIs computed from the archive, the pool and the ledger (issue 18).

    settings.py   the [kpi] section: working hours and days, timezone, reply SLA, coverage window
    worktime.py   seconds of working time between two instants
    replies.py    the MESSAGES_ARCHIVED listener: reply times, contacts (incremental aggregates); rebuild
    histogram.py  reply times as per member-day and member-week histograms; their resolution
    coverage.py   owned customers, new / lost ones, share messaged in the last N days
    orders.py     orders, amount, conversion and repeat from the receivables ledger
    report.py     the KPI rows of members and their team for a period
    anomaly.py    a member's metric this week against their own previous 4 weeks
    scope.py      whose KPIs a caller may see
    digest.py     the weekly digest to each manager
"""
