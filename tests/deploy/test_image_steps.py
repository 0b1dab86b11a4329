"""The image's build and start-up steps, run outside Docker exactly as deploy/Dockerfile runs them.

Build stage: the context as the Dockerfile copies it → `pip wheel --no-deps` → deploy/install.sh (the same
script and arguments the Dockerfile's RUN gives it, the default EXTRAS included). Runtime: the Dockerfile's
ENV, ENTRYPOINT + CMD (`traum serve --host 0.0.0.0`), then its HEALTHCHECK command against the server.

The venv install.sh fills is layered: a .pth in it shows the installed distributions the wheel's
requirements (with EXTRAS) pull in, and only those, taken from the test's own environment; pip then
resolves the wheel's whole dependency graph against them and installs the wheel alone. Installing torch,
Ray and the rest again would prove only that pip unpacks wheels and cost CI minutes. A dependency the
wheel does not declare is not there, so a missing requirement still fails here. TRAUM_TEST_IMAGE_FRESH=1
runs the install into an empty venv instead (everything from the index, minutes). What this cannot prove
(the base image, apt, the non-root user, the CUDA build) docs/deploy.md lists.
"""

from __future__ import annotations

import email
import importlib.metadata
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from tests.deploy.dockerfile import exec_form, parse

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = parse(ROOT / "deploy" / "Dockerfile")
#: The files the Dockerfile's build stage COPYs.
CONTEXT = ("pyproject.toml", "README.md", "LICENSE", "src")
TOKEN = "image-test-token"

pytestmark = pytest.mark.slow


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a container: none of the test run's PYTHONPATH (it would put the worktree's
    source ahead of the installed wheel), VIRTUAL_ENV or TRAUM_* settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TRAUM_", "PYTHON", "VIRTUAL_ENV", "HF_"))}
    env.update(extra)
    return env


def _local_torch_index(tmp: Path) -> str:
    """A one-package index for torch, standing in for download.pytorch.org (unreachable here) so the
    Dockerfile's torch-first step runs too; empty (pip's own index, as for the CUDA image) when no
    torch wheel lies on this machine's disk."""
    wheels = sorted(Path("/opt/wheels").glob("torch-*.whl"))
    if not wheels:
        return ""
    page = tmp / "torch-index" / "torch"
    page.mkdir(parents=True)
    (page / "index.html").write_text("".join(f'<a href="{w.as_uri()}">{w.name}</a>\n' for w in wheels))
    return (tmp / "torch-index").as_uri() + "/"


@pytest.fixture(scope="module")
def image() -> Iterator[Path]:
    """The build stage, replayed: yields the venv the runtime stage copies (/opt/traum).

    TRAUM_TEST_IMAGE_VENV=DIR reuses a venv this fixture made before (re-running the start-up tests
    without the minutes of installing). Its own temporary folder, not pytest's: pytest deletes all but
    its last three base folders, which another pytest process may do while this one installs."""
    if reuse := os.environ.get("TRAUM_TEST_IMAGE_VENV"):
        yield Path(reuse)
        return
    tmp = Path(tempfile.mkdtemp(prefix="traum-image-"))
    try:
        yield _build(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _build(tmp: Path) -> Path:
    src = tmp / "src"
    src.mkdir()
    for name in CONTEXT:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, src / name)
    build = DOCKERFILE.stage("build")
    args = dict(a.split("=", 1) for a in build.all("ARG"))
    run = build.last("RUN")
    assert "pip wheel --no-cache-dir --no-deps --wheel-dir /wheels ." in run
    subprocess.run(["python3", "-m", "venv", str(tmp / "wheel-builder")], check=True, env=_clean_env())
    subprocess.run([str(tmp / "wheel-builder" / "bin" / "pip"), "wheel", "--no-cache-dir", "--no-deps",
                    "--wheel-dir", str(tmp / "wheels"), "."], cwd=src, check=True, env=_clean_env(),
                   capture_output=True)
    venv = tmp / "opt-traum"
    if not os.environ.get("TRAUM_TEST_IMAGE_FRESH"):
        _layer_installed_requirements(venv, tmp / "deps", next((tmp / "wheels").glob("traum-*.whl")),
                                      args["EXTRAS"])
    started = time.monotonic()
    subprocess.run(["sh", str(ROOT / "deploy" / "install.sh"), str(venv), str(tmp / "wheels"),
                    _local_torch_index(tmp), args["EXTRAS"]], check=True, env=_clean_env(), capture_output=True)
    print(f"image install step: {time.monotonic() - started:.0f} s")
    return venv


def _layer_installed_requirements(venv: Path, deps: Path, wheel: Path, extras: str) -> None:
    """Create ``venv`` (install.sh's `python3 -m venv` then finds it, as on an empty one) with a .pth that
    shows it the installed distributions the wheel's requirements pull in, through links in ``deps``."""
    subprocess.run(["python3", "-m", "venv", "--without-pip", str(venv)], check=True, env=_clean_env())
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = subprocess.run([str(venv / "bin" / "python"), "-c", where], check=True, capture_output=True, text=True,
                          env=_clean_env()).stdout.strip()
    assert f"python{sys.version_info.major}.{sys.version_info.minor}" in site, \
        "python3 is another Python than the test's: its installed packages cannot stand in (TRAUM_TEST_IMAGE_FRESH=1)"
    deps.mkdir()
    for dist in _installed_closure(wheel, extras):
        root = Path(str(dist.locate_file("")))
        for top in {f.parts[0] for f in dist.files or () if f.parts[0] != ".."}:
            if not (deps / top).exists():
                (deps / top).symlink_to(root / top)
    # addsitedir, not a bare path: .pth files among the dependencies take effect as in a real install.
    (Path(site) / "_installed_requirements.pth").write_text(f"import site; site.addsitedir({str(deps)!r})\n")


def _installed_closure(wheel: Path, extras: str) -> list[importlib.metadata.Distribution]:
    """The distributions of this environment the wheel's Requires-Dist (with ``extras``) reach, transitively;
    a requirement installed nowhere here is left to pip."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    installed: dict[str, importlib.metadata.Distribution] = {}
    for dist in importlib.metadata.distributions():
        installed.setdefault(canonicalize_name(dist.metadata["Name"]), dist)

    def wanted(lines: Iterable[str], active: set[str]) -> Iterator[Requirement]:
        for req in map(Requirement, lines):
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in active | {""}):
                yield req

    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA")))
    top = email.message_from_bytes(metadata).get_all("Requires-Dist") or []
    todo = list(wanted(top, {e.strip() for e in extras.split(",") if e.strip()}))
    reached: dict[str, set[str]] = {}
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name not in installed or (name in reached and req.extras <= reached[name]):
            continue
        reached.setdefault(name, set()).update(req.extras)
        todo.extend(wanted(installed[name].requires or [], reached[name]))
    return [installed[name] for name in reached]


def _image_env(venv: Path, data: Path) -> dict[str, str]:
    env = dict(re.findall(r"(\w+)=(\S+)", DOCKERFILE.stage("runtime").last("ENV")))
    env = {k: v.replace("/opt/traum", str(venv)).replace("/data", str(data)).replace("/cache", str(data / "cache"))
           for k, v in env.items()}
    env["PATH"] = env["PATH"].replace("$PATH", os.environ["PATH"])
    # No model can be downloaded here; offline, serve starts without one (as without network in a pod).
    return _clean_env(**env, TRAUM_TOKEN=TOKEN, HF_HUB_OFFLINE="1")


def test_console_scripts_installed(image: Path) -> None:
    help_ = subprocess.run([str(image / "bin" / "traum"), "--help"], capture_output=True, text=True,
                           env=_clean_env(), check=True)
    assert "serve" in help_.stdout and "index" in help_.stdout
    # KubeRay starts its pods with `ray start`: the default EXTRAS must bring it. A fresh venv gets bin/ray
    # from pip; a layered one shows the installed Ray only because the wheel's requirements reach it.
    ray = subprocess.run([str(image / "bin" / "python"), "-c", "import importlib.metadata as m; "
                          "print(*m.entry_points(group='console_scripts', name='ray'))"],
                         capture_output=True, text=True, env=_clean_env(), check=True)
    assert "ray.scripts.scripts:main" in ray.stdout
    if os.environ.get("TRAUM_TEST_IMAGE_FRESH"):
        assert (image / "bin" / "ray").exists()
    # The wheel, not a source tree, is what runs.
    where = subprocess.run([str(image / "bin" / "python"), "-c", "import traum; print(traum.__file__)"],
                           capture_output=True, text=True, env=_clean_env(), check=True)
    assert str(image) in where.stdout


def test_the_installed_page_has_every_static_file(image: Path) -> None:
    # The wheel once left out the page's ES modules (static/js/): the page loaded without its scripts.
    where = subprocess.run([str(image / "bin" / "python"), "-c", "import traum.web, pathlib; "
                            "print(pathlib.Path(traum.web.__file__).parent / 'static')"],
                           capture_output=True, text=True, env=_clean_env(), check=True)
    installed = Path(where.stdout.strip())
    source = ROOT / "src" / "traum" / "web" / "static"

    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}

    assert files(source) - files(installed) == set()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(image: Path, tmp_path: Path) -> Iterator[int]:
    env = _image_env(image, tmp_path / "data")
    (tmp_path / "data").mkdir()
    subprocess.run([str(image / "bin" / "python"), "-c",
                    "import os; from traum.catalog import Catalog; Catalog(os.environ['TRAUM_DB']).close()"],
                   env=env, check=True)
    port = _free_port()
    runtime = DOCKERFILE.stage("runtime")
    argv = exec_form(runtime.last("ENTRYPOINT")) + exec_form(runtime.last("CMD"))
    argv[argv.index("--port") + 1] = str(port)
    with (tmp_path / "serve.out").open("w") as out:
        proc = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _healthcheck(image: Path, port: int) -> subprocess.CompletedProcess[str]:
    _options, _, command = DOCKERFILE.stage("runtime").last("HEALTHCHECK").partition(" CMD ")
    argv = [a.replace(":8765/", f":{port}/") for a in exec_form(command)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=10,
                          env=_clean_env(PATH=f"{image / 'bin'}:{os.environ['PATH']}"))


def test_serve_answers_the_healthcheck_and_wants_the_token(image: Path, server: int, tmp_path: Path) -> None:
    deadline = time.monotonic() + 120
    while (check := _healthcheck(image, server)).returncode != 0:
        assert time.monotonic() < deadline, (tmp_path / "serve.out").read_text() + check.stderr
        time.sleep(1)
    status = f"http://127.0.0.1:{server}/api/status"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(status, timeout=10)
    assert refused.value.code in (401, 403)
    request = urllib.request.Request(status, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def test_healthcheck_fails_when_nothing_serves(image: Path) -> None:
    assert _healthcheck(image, _free_port()).returncode != 0
