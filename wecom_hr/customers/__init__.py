"""The customer pool (issue 3): event sync, full resync, deletion alerts, access rules, API."""
