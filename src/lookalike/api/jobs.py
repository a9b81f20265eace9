"""Background jobs: long work (cleaning and fitting a large upload) runs in a thread pool.

The client gets a job id at once and polls ``GET /api/v1/jobs/{id}`` for status and
progress. The registry hangs on ``app.state`` (one per app, no module-level state).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lookalike.errors import LookalikeError

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Job:
    """One background job: status is queued, running, done or failed."""

    id: str
    kind: str
    owner: str
    status: str = "queued"
    progress: float = 0.0
    message: str = ""
    result: dict = field(default_factory=dict)
    error: str | None = None
    created: str = field(default_factory=_now)
    finished: str | None = None

    def to_dict(self) -> dict:
        """The job as JSON-ready values."""
        return {k: getattr(self, k) for k in ("id", "kind", "owner", "status", "progress", "message",
                                              "result", "error", "created", "finished")}


class JobRegistry:
    """A thread pool plus the state of every job it ran (kept in memory for this process)."""

    def __init__(self, workers: int = 2, redact: Callable[[str], str] = str):
        """``redact`` rewrites a failed job's message for clients (e.g. server paths made relative)."""
        self._redact = redact
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lookalike-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, kind: str, owner: str, work: Callable[[Progress], dict]) -> Job:
        """Queue ``work(progress)``; it returns the job's result dict."""
        job = Job(id=uuid.uuid4().hex[:16], kind=kind, owner=owner)
        with self._lock:
            self._jobs[job.id] = job

        def progress(share: float, message: str) -> None:
            with self._lock:
                job.progress = round(min(max(float(share), 0.0), 1.0), 3)
                job.message = message

        def run() -> None:
            with self._lock:
                job.status = "running"
            try:
                result = work(progress)
            except LookalikeError as exc:
                self._finish(job, "failed", error=self._redact(str(exc)))
            except Exception as exc:  # a job must never die silently: record what happened
                log.exception("job %s (%s) failed", job.id, kind)
                self._finish(job, "failed",
                             error=self._redact(f"unexpected failure: {type(exc).__name__}: {str(exc)[:300]}"))
            else:
                self._finish(job, "done", result=result)

        self._pool.submit(run)
        return job

    def _finish(self, job: Job, status: str, *, result: dict | None = None, error: str | None = None) -> None:
        with self._lock:
            job.status, job.error, job.finished = status, error, _now()
            if result is not None:
                job.result, job.progress, job.message = result, 1.0, "done"

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        with self._lock:
            return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        """All jobs, newest first."""
        with self._lock:
            # insertion order is creation order; `created` has whole seconds, so sorting on it ties
            return list(reversed(self._jobs.values()))

    def wait(self, job_id: str, timeout: float = 60.0) -> Job:
        """Block until a job ends (for the CLI and tests)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(job_id)
            if job is None or job.status in ("done", "failed"):
                return job
            time.sleep(0.05)
        raise TimeoutError(f"job {job_id} did not finish within {timeout} s")

    def shutdown(self) -> None:
        """Stop accepting jobs and wait for the running ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)
