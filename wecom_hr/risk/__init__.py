"""跑单 early warning (issue 18): customer ownership, signals computed as messages arrive, rules, cases."""
