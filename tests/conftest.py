"""Shared test set-up. Qt runs offscreen (set before anything imports Qt), and the window's settings and
session file go to per-test temporary folders so tests never touch the user's own."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def fixture_dir() -> Path:
    """tests/fixtures"""
    return FIXTURES


@pytest.fixture
def nvidia_dir() -> Path:
    """tests/fixtures/nvidia (NVIDIA network pickles with reference renders)."""
    return FIXTURES / "nvidia"


@pytest.fixture(autouse=True)
def _isolated_app_dirs(tmp_path_factory, monkeypatch):
    """Each test gets its own QSettings file and session folder."""
    base = tmp_path_factory.mktemp("appdirs")
    monkeypatch.setenv("EXPLORER_SETTINGS_DIR", str(base / "settings"))
    monkeypatch.setenv("EXPLORER_SESSION_DIR", str(base / "session"))


@pytest.fixture
def one_torch_thread(monkeypatch):
    """torch on one thread, here and in the trainers the tests start (they inherit OMP_NUM_THREADS): on
    a busy two-core test machine two OpenMP threads spin-wait for each other and a tiny training step
    takes seconds instead of 0.1 s (see explorer.train.loop._worker)."""
    import torch

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def open_window(qtbot):
    """``open_window(network, until=None, size=(1000, 700))``: the explorer window on a model, offscreen,
    without the user's session, once its first image is up (and ``until(window)`` holds); shut down after
    the test."""
    opened = []

    def open_(network, until=None, size=(1000, 700)):
        from explorer.gui import main_window

        window = main_window(network=network, autosave=False, restore_session=False)
        qtbot.addWidget(window)
        window.resize(*size)
        qtbot.waitUntil(lambda: window.model_info is not None and window.is_current()
                        and (until is None or until(window)), timeout=60_000)
        opened.append(window)
        return window

    yield open_
    for window in opened:
        window.shutdown()
