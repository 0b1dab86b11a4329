"""The Ray executor on a real local Ray (started once for the module): the same catalog as the local
executor, through crashes of a worker and of the driver, and through shards merged later."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import psutil
import pytest

from tests.helpers import EXAMPLES, catalog_snapshot, copy_library, cosine
from traum.catalog import Catalog
from traum.catalog.runs import last_runs
from traum.catalog.store import FACT_COLUMNS
from traum.pipeline import IndexOptions, run_index

N_AUDIO = 13  # audio files in tests.helpers.MIXED; the library adds a duplicate and an empty file


@pytest.fixture(scope="module")
def ray_cluster():
    """A real Ray on 2 CPUs: one embedding actor and one decoding task at a time (more would starve).
    Shut down after this module: its daemons would take CPU and add threads for the rest of the run."""
    os.environ["RAY_AUTH_MODE"] = "disabled"
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}})
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def shared_library(tmp_path_factory):
    library = copy_library(tmp_path_factory.mktemp("ray") / "library")
    (library / "copy-of-kick.wav").write_bytes((library / "dirt-samples/bd/BT0A0A7.wav").read_bytes())
    (library / "empty.wav").write_bytes(b"")
    return library


@pytest.fixture(scope="module")
def local_catalog(shared_library, tiny_model, tmp_path_factory):
    db = tmp_path_factory.mktemp("local") / "local.db"
    report = index(shared_library, db, tiny_model)
    assert report.indexed == N_AUDIO and report.linked == 1
    return db


def index(library, db, model, **options):
    with Catalog(db) as catalog:
        return run_index([library], catalog, IndexOptions(model=str(model), **options))


def assert_same_catalog(expected, actual):
    a, b = catalog_snapshot(expected), catalog_snapshot(actual)
    assert a["status"] == b["status"] and a["stems"] == b["stems"] and a["windows"] == b["windows"]
    assert a["vectors"].keys() == b["vectors"].keys() and len(a["vectors"]) == N_AUDIO
    assert min(cosine(a["vectors"][k], b["vectors"][k]) for k in a["vectors"]) > 0.9999
    assert facts(expected) == facts(actual)


def executors(db):
    with Catalog(db) as catalog:
        return [run["executor"] for run in last_runs(catalog)]


def facts(db):
    with sqlite3.connect(db) as conn:
        return {r[0]: r[1:] for r in conn.execute(f"SELECT id, {', '.join(FACT_COLUMNS)} FROM stems")}


def embedding_actors():
    """This run's actors only (the Ray this module started is a child of the test process): another Ray
    on the machine is none of this test's business."""
    found = []
    for process in psutil.Process().children(recursive=True):
        try:
            if "Embedder" in " ".join(process.cmdline()):
                found.append(process)
        except psutil.Error:  # ended meanwhile
            pass
    return found


class KillActorOnFirstCommit:
    """Kills the embedding actor as soon as the driver commits a file: the rest is still to do."""

    def __init__(self):
        self.killed = []

    def start(self, total):
        pass

    def notice(self, text):
        pass

    def advance(self, n=1):
        actors = embedding_actors()
        if not self.killed and actors:
            for actor in actors:
                actor.send_signal(signal.SIGKILL)
            self.killed = actors


def test_ray_builds_the_local_catalog_even_when_a_worker_dies(ray_cluster, shared_library, local_catalog,
                                                              tiny_model, tmp_path):
    db = tmp_path / "ray.db"
    progress = KillActorOnFirstCommit()
    with Catalog(db) as catalog:
        # One file per commit, so the actor dies with most of the files still to embed.
        report = run_index([shared_library], catalog, IndexOptions(model=str(tiny_model), executor="ray",
                                                                  batch_size=1), progress)
    assert progress.killed, "the embedding actor was never seen"
    assert (report.indexed, report.linked, report.skipped, report.failed) == (N_AUDIO, 1, 2, 1)
    assert_same_catalog(local_catalog, db)
    assert executors(db) == ["ray"] and executors(local_catalog) == ["local"]  # as `traum status --runs` says
    again = index(shared_library, db, tiny_model, executor="ray")
    assert again.unchanged == again.files_seen and again.indexed == again.linked == 0


def test_a_killed_driver_resumes_with_what_the_catalog_lacks(ray_cluster, shared_library, local_catalog,
                                                            tiny_model, tmp_path):
    db = tmp_path / "ray.db"
    address = ray_cluster.get_runtime_context().gcs_address
    driver = subprocess.Popen(
        [sys.executable, "-m", "traum.cli.main", "index", str(shared_library), "--db", str(db), "--model",
         str(tiny_model), "--executor", "ray", "--address", address, "--batch-size", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "RAY_AUTH_MODE": "disabled"})
    try:
        committed = wait_for_embedded(db, driver)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    finally:
        driver.kill()
    assert 0 < committed < N_AUDIO, "the driver was not killed mid-run"
    with Catalog(db) as catalog:
        done = catalog.counts()
    report = index(shared_library, db, tiny_model, executor="ray")
    # Only what the killed run had not committed is done again.
    assert report.unchanged == sum(done.values()) and report.indexed <= N_AUDIO - committed
    assert report.unchanged + report.indexed + report.linked + report.skipped + report.failed == report.files_seen
    assert_same_catalog(local_catalog, db)


def wait_for_embedded(db, driver, timeout=240.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and driver.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db) as conn:
                    n = conn.execute("SELECT count(*) FROM stems WHERE clap_embedding IS NOT NULL").fetchone()[0]
            except sqlite3.OperationalError:  # not created yet
                n = 0
            if n:
                return n
        time.sleep(0.05)
    raise AssertionError(f"the driver committed nothing (exit {driver.poll()})")


def test_shards_merged_twice_give_the_local_catalog(ray_cluster, shared_library, local_catalog, tiny_model,
                                                    tmp_path):
    from traum.cli.main import main

    shards = tmp_path / "shards"
    report = index(shared_library, tmp_path / "plan.db", tiny_model, executor="ray", shards=str(shards))
    assert (report.indexed, report.linked, report.failed) == (N_AUDIO, 1, 1)
    assert list(shards.glob("*.parquet"))
    with Catalog(tmp_path / "plan.db") as planning:
        assert planning.stem_count() == 0  # the workers wrote shards, not the catalog
    merged = tmp_path / "merged.db"
    for _ in range(2):
        with pytest.raises(SystemExit) as exit_:
            main(["catalog", "merge", str(shards), "--db", str(merged)])
        assert exit_.value.code == 0
        assert_same_catalog(local_catalog, merged)
    rerun = index(shared_library, tmp_path / "plan.db", tiny_model, executor="ray", shards=str(shards))
    assert rerun.unchanged == rerun.files_seen


def test_without_ray_the_executor_is_one_line_and_the_cli_never_imports_it(library, db):
    script = ("import sys; sys.modules['ray'] = None\n"  # as if traum[ray] were not installed
              "from traum.cli.main import main\n"
              f"main(['index', {str(library)!r}, '--db', {str(db)!r}, '--executor', 'ray'])")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: the ray executor needs Ray: install traum[ray] (pip install 'traum[ray]')"]
    lazy = subprocess.run([sys.executable, "-c", "import sys; from traum.cli.main import app; "
                           "print(sorted(m for m in ('ray', 'pyarrow') if m in sys.modules))"],
                          capture_output=True, text=True)
    assert lazy.stdout.strip() == "[]"


def test_ray_fills_in_the_windows_a_budgeted_run_sampled(ray_cluster, tiny_model, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    (library / "song.ogg").write_bytes((EXAMPLES / "Kevin_MacLeod_-_Vibe_Ace.ogg").read_bytes())  # 61 s
    db = tmp_path / "catalog.db"

    def windows():
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT count(*) FROM stem_windows").fetchone()[0]

    index(library, db, tiny_model, analyse=False, executor="ray")
    assert windows() == 3  # the default budget
    report = index(library, db, tiny_model, analyse=False, executor="ray", max_windows=None)
    assert report.rewindowed == 1 and windows() == 7
