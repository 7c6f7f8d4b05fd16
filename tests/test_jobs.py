"""The job runner: results, one-line errors, cancel, progress."""

import threading

import pytest

from explorer.engine.jobs import CANCELLED, DONE, FAILED, JobCancelled, JobContext, JobRunner, one_line_error
from explorer.errors import StateError


def test_a_job_returns_its_result_and_reports_progress():
    seen = []
    done = []
    runner = JobRunner()

    def work(ctx):
        for i in range(4):
            ctx.progress(i / 4, f"step {i}")
        return 42

    job = runner.submit("work", work, on_done=done.append, on_progress=lambda f, m: seen.append((f, m)))
    assert job.wait(10)
    assert job.status == DONE and job.result == 42 and done == [42]
    assert seen[-1] == (0.75, "step 3")
    assert runner.jobs() == []


def test_a_failing_job_ends_with_one_named_line():
    errors = []
    job = JobRunner().submit("export", lambda ctx: [][1], on_error=errors.append)
    job.wait(10)
    assert job.status == FAILED
    assert errors == [job.error] and job.error.startswith("export failed: IndexError:")
    assert "\n" not in job.error


def test_our_errors_keep_their_message():
    assert one_line_error("x", StateError("s.json", "bad\nthing")) == str(StateError("s.json", "bad thing"))


def test_cancel_stops_at_the_next_check():
    started = threading.Event()
    cancelled = []

    def work(ctx):
        started.set()
        while True:
            ctx.check()

    job = JobRunner().submit("loop", work, on_cancelled=lambda: cancelled.append(True))
    assert started.wait(10)
    job.cancel()
    assert job.wait(10)
    assert job.status == CANCELLED and cancelled == [True]


def test_a_plain_context_does_nothing_but_can_be_cancelled():
    ctx = JobContext()
    ctx.progress(0.5, "half")
    ctx.preview(object())
    ctx.check()
    ctx.cancel()
    with pytest.raises(JobCancelled):
        ctx.check()
