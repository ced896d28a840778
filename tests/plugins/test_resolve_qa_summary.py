"""The Resolve take's one-line QA summary names a sync offset only when the daemon's verdict is confident."""
from __future__ import annotations

import pytest
import resolve_scene  # noqa: F401  (puts the Resolve script's support package on the path)
from lipsync_resolve.qa_record import summary


def result(**report):
    return {"job_id": "j1", "report": {"frames": 75, "passthrough": [], **report}}


@pytest.mark.parametrize("report, words", [
    ({"sync_score": 0.21, "sync_offset": 0, "sync_status": "in_sync"}, "in sync (confidence 0.21)"),
    ({"sync_score": 0.15, "sync_offset": -3, "sync_status": "offset"}, "sync OFF by -3 frames (confidence 0.15)"),
    ({"sync_score": 0.044, "sync_offset": 15, "sync_status": "inconclusive"}, "sync inconclusive"),
    ({"sync_score": None, "sync_offset": None, "sync_status": None}, "sync not measured"),
    ({"sync_score": 0.3, "sync_offset": 2}, "sync 0.30 (offset 2 frames)"),  # a record from before sync_status
])
def test_summary_says_the_sync_verdict(report, words):
    line = summary("DE", result(**report))
    assert line == "LipSync DE | %s | 0 of 75 frames passed through | job j1" % words
    if report.get("sync_status") == "inconclusive":
        assert "15" not in line  # the noise offset of an inconclusive verdict is not shown
