"""APScheduler jobs. Each job is a plain function ``job(runtime, now) -> dict`` (figures for the log)."""
