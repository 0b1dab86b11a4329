"""An interrupted run's report counts exactly what the catalog holds, even when the Ctrl+C lands right
after a batch was committed, while its files are being counted."""

from __future__ import annotations

import os
import signal
import sqlite3

import pytest

from tests.helpers import copy_library
from traum.catalog import Catalog
from traum.catalog.runs import last_runs
from traum.pipeline import IndexOptions, run_index
from traum.pipeline.report import NullProgress

FILES = ["dirt-samples/bd/BT0A0D0.wav", "dirt-samples/bd/BT0A0A7.wav", "dirt-samples/sn/ST0T0S0.wav",
         "dirt-samples/hh/000_hh3closedhh.wav", "dirt-samples/808/TR808.TXT", "dirt-samples/stomp/009_9.wav"]


class CtrlCWhileCounting(NullProgress):
    """Sends this process SIGINT as the first committed file is counted: right after its batch's commit."""

    def __init__(self) -> None:
        self.sent = False

    def advance(self, n: int = 1) -> None:
        if not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)


def committed(db) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM processing_status WHERE status IN "
                            "('indexed', 'skipped', 'failed')").fetchone()[0]


@pytest.mark.parametrize("analyse", [False, True])
def test_ctrl_c_right_after_a_commit_is_counted_in_the_report(tmp_path, tiny_model, analyse):
    library = copy_library(tmp_path / "lib", FILES)
    db, progress = tmp_path / "c.db", CtrlCWhileCounting()
    with Catalog(db) as catalog, pytest.raises(KeyboardInterrupt):
        run_index([library], catalog, IndexOptions(model=str(tiny_model), batch_size=1, cache=False,
                                                   analyse=analyse), progress)
    assert progress.sent
    with Catalog(db) as catalog:
        report = last_runs(catalog)[0]["report"]
    counted = report["indexed"] + report["linked"] + report["skipped"] + report["failed"]
    assert report["interrupted"] == "interrupted (SIGINT)"
    assert counted == committed(db) > 0, report
