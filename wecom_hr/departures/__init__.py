"""Departure handover (离职交接): start, approve on a WeCom card, transfer, follow up, brief, report (issue 5)."""
