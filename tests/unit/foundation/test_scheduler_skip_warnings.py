"""A job still running when its next run is due makes APScheduler warn at every interval (a poll slower
than its interval): the operator's log says it once an hour per job."""

from __future__ import annotations

import logging
import threading
import time
import uuid

from apscheduler.schedulers.background import BackgroundScheduler

from bot.app import build_app


def test_a_job_slower_than_its_interval_is_reported_once_not_every_interval(db, settings, app_config, clock, caplog):
    build_app(settings, app_config, clock=clock, db=db, upgrade=False).close()  # installs the filter
    release = threading.Event()
    scheduler = BackgroundScheduler()
    job_id = f"slow-poll-{uuid.uuid4().hex}"  # the filter lives for the process: a job of its own
    scheduler.add_job(lambda: release.wait(10), "interval", seconds=0.2, id=job_id, max_instances=1)
    with caplog.at_level(logging.WARNING, logger="apscheduler.scheduler"):
        scheduler.start()
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and caplog.text.count("skipped") < 1:  # the first overlap
                time.sleep(0.05)
            time.sleep(1.2)  # about five more overlaps
        finally:
            release.set()
            scheduler.shutdown(wait=True)
    assert caplog.text.count("maximum number of running instances reached") == 1, caplog.text
