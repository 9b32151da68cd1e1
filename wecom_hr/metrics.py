"""Prometheus metrics. Under gunicorn, PROMETHEUS_MULTIPROC_DIR makes them add up across workers."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CALLBACKS = Counter("wecomhr_callbacks_total", "Callbacks received, by outcome",
                    ["outcome"])  # acknowledged | duplicate | rejected_signature | rejected_malformed | db_down | ...
ACK_SECONDS = Histogram("wecomhr_callback_ack_seconds", "Time from request to acknowledgement",
                        buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
EVENTS_HANDLED = Counter("wecomhr_events_handled_total", "Inbox events finished, by status and event",
                         ["status", "event"])
HANDLER_FAILURES = Counter("wecomhr_handler_failures_total", "Handler exceptions, by event", ["event"])
INBOX_DEPTH = Gauge("wecomhr_inbox_depth", "Unhandled inbox events", multiprocess_mode="max")
INBOX_OLDEST = Gauge("wecomhr_inbox_oldest_seconds", "Age of the oldest unhandled event", multiprocess_mode="max")
DEAD_LETTERS = Gauge("wecomhr_inbox_dead", "Dead-letter events", multiprocess_mode="max")
API_CALLS = Counter("wecomhr_wecom_api_calls_total", "WeCom API calls, by path and errcode", ["path", "errcode"])
API_SECONDS = Histogram("wecomhr_wecom_api_seconds", "WeCom API call latency", ["path"])
MESSAGES_SENT = Counter("wecomhr_messages_sent_total", "WeCom messages delivered from the outbox", ["kind"])


def observe_api_call(path: str, errcode: int | None, seconds: float) -> None:
    # Paths are a small fixed set; a network failure is reported as errcode "network".
    API_CALLS.labels(path=path, errcode="network" if errcode is None else str(errcode)).inc()
    API_SECONDS.labels(path=path).observe(seconds)

JOB_FAILURES = Counter("wecomhr_job_failures_total", "Scheduled or manual job runs that failed, by job", ["job"])
JOB_FAILING = Gauge("wecomhr_job_failures_in_row", "Failures in a row of each job (0 once it works)", ["job"],
                    multiprocess_mode="max")
