"""deploy/k8s: every manifest of both overlays renders and validates offline, and says what the docs promise.

Rendering: `kubectl kustomize` (the kustomize built into kubectl; this machine kind's image ships kubectl).
Built-in kinds: kubernetes-validate's schemas, strict (an unknown field fails, as kubectl's strict field
validation would). RayJob: the OpenAPI v3 schema of KubeRay's CRD (deploy/k8s/crds), also made strict.
"""

from __future__ import annotations

import copy
import functools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
#: The oldest Kubernetes release the manifests promise to fit (docs/deploy.md).
KUBERNETES = "1.30.0"
OVERLAYS = ("cpu", "gpu")
TOKEN = "TRAUM_TOKEN=test-token-not-a-secret\n"


def _kubectl() -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is missing: CI must render the kustomize overlays (see .ci/run)")
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    return kubectl


def _kustomize(tree: Path, overlay: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_kubectl(), "kustomize", str(tree / "overlays" / overlay)],
                          capture_output=True, text=True, timeout=120)


@functools.cache
def _rendered(overlay: str, tmp: Path) -> list[dict[str, Any]]:
    done = _kustomize(tmp, overlay)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of deploy/k8s with the token file an operator creates (it is never committed)."""
    copy_ = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, copy_, ignore=shutil.ignore_patterns("crds", "token.env"))
    (copy_ / "base" / "token.env").write_text(TOKEN)
    return copy_


@pytest.fixture(scope="module", params=OVERLAYS)
def manifests(request: pytest.FixtureRequest, tree: Path) -> tuple[str, list[dict[str, Any]]]:
    return request.param, _rendered(request.param, tree)


def _one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def _pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    serve = _one(docs, "Deployment", "traum-serve")["spec"]["template"]["spec"]
    cluster = _one(docs, "RayJob")["spec"]["rayClusterSpec"]
    specs = {"serve": serve, "ray-head": cluster["headGroupSpec"]["template"]["spec"]}
    specs.update({f"ray-{g['groupName']}": g["template"]["spec"] for g in cluster["workerGroupSpecs"]})
    return specs


# -- validation --------------------------------------------------------------------------------------


def _strict(schema: Any) -> Any:
    """The CRD schema with unknown fields rejected (the API server prunes them silently: a typo would be
    lost, not reported), except where the CRD itself keeps unknown fields."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [_strict(v) for v in schema]
    return schema


@functools.cache
def _crd_validators() -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    validators = {}
    for path in (K8S / "crds").glob("*.yaml"):
        # libyaml: the pure-Python loader takes a minute over this 1.4 MB file.
        crd = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = _strict(version["schema"]["openAPIV3Schema"])
            validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return validators


def _validate(doc: dict[str, Any]) -> None:
    validator = _crd_validators().get((doc["apiVersion"], doc["kind"]))
    if validator is None:
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)
    else:
        error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
        if error is not None:
            raise error


def test_every_manifest_validates(manifests: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = manifests
    kinds = {d["kind"] for d in docs}
    assert kinds == {"Namespace", "PersistentVolumeClaim", "Deployment", "Service", "Secret", "RayJob"}
    for doc in docs:
        _validate(doc)


def test_validation_catches_mistakes(manifests: tuple[str, list[dict[str, Any]]]) -> None:
    """The validators are not vacuous: a misspelt field fails in a built-in kind and in the RayJob."""
    _, docs = manifests
    deployment = copy.deepcopy(_one(docs, "Deployment"))
    deployment["spec"]["strategy"]["tpye"] = "Recreate"
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(deployment)
    rayjob = copy.deepcopy(_one(docs, "RayJob"))
    rayjob["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replica"] = 3
    with pytest.raises(jsonschema.ValidationError):
        _validate(rayjob)
    rayjob = copy.deepcopy(_one(docs, "RayJob"))
    rayjob["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["image"] = 3
    with pytest.raises(jsonschema.ValidationError):
        _validate(rayjob)


def test_no_token_no_manifests(tree: Path, tmp_path: Path) -> None:
    """Without token.env the overlays do not render: serve is never deployed without a token."""
    bare = tmp_path / "k8s"
    shutil.copytree(tree, bare, ignore=shutil.ignore_patterns("token.env"))
    done = _kustomize(bare, "cpu")
    assert done.returncode != 0
    assert "token.env" in done.stderr


# -- what the manifests promise ------------------------------------------------------------------------


def test_serve_is_one_pod_on_a_single_writer_volume(manifests: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = manifests
    deployment = _one(docs, "Deployment", "traum-serve")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]
              if "persistentVolumeClaim" in v}
    data = _one(docs, "PersistentVolumeClaim", claims["data"])
    assert data["spec"]["accessModes"] == ["ReadWriteOnce"]
    serve = pod["containers"][0]
    assert {"name": "data", "mountPath": "/data"} in serve["volumeMounts"]
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_serve_needs_the_secret_token_and_probes_healthz(manifests: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = manifests
    serve = _one(docs, "Deployment", "traum-serve")["spec"]["template"]["spec"]["containers"][0]
    assert serve["args"][:3] == ["serve", "--host", "0.0.0.0"]
    token = next(e for e in serve["env"] if e["name"] == "TRAUM_TOKEN")["valueFrom"]["secretKeyRef"]
    secret = _one(docs, "Secret", token["name"])  # kustomize rewrote the name to the generated one
    assert token["key"] in secret["data"]
    assert token.get("optional") is not True
    for probe in ("readinessProbe", "livenessProbe"):
        get = serve[probe]["httpGet"]
        assert get["path"] == "/healthz"
        assert get["port"] in ("http", 8765)
    assert serve["resources"]["requests"]["memory"] and serve["resources"]["limits"]["memory"]
    service = _one(docs, "Service", "traum-serve")
    assert service["spec"]["selector"].items() <= _one(docs, "Deployment")["spec"]["template"]["metadata"][
        "labels"].items()


def test_init_container_merges_shards_into_the_catalog(manifests: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = manifests
    pod = _one(docs, "Deployment", "traum-serve")["spec"]["template"]["spec"]
    (merge,) = pod["initContainers"]
    assert merge["args"] == ["catalog", "merge", "/shards", "--db", "/data/catalog.db"]


def test_rayjob_indexes_the_library_into_shards(manifests: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = manifests
    job = _one(docs, "RayJob", "traum-index")["spec"]
    argv = job["entrypoint"].split()
    assert argv[:3] == ["traum", "index", "/library"]
    assert argv[argv.index("--executor") + 1] == "ray"
    assert argv[argv.index("--shards") + 1] == "/shards"
    assert job["shutdownAfterJobFinishes"] is True
    for name, spec in _pod_specs(docs).items():
        if not name.startswith("ray-"):
            continue
        mounts = {m["mountPath"]: m for m in spec["containers"][0]["volumeMounts"]}
        assert mounts["/shards"].get("readOnly") is not True, name
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"]
                  if "persistentVolumeClaim" in v}
        shards = _one(docs, "PersistentVolumeClaim", claims[mounts["/shards"]["name"]])
        assert shards["spec"]["accessModes"] == ["ReadWriteMany"], "shards are written from many nodes"


def test_library_is_mounted_read_only_everywhere(manifests: tuple[str, list[dict[str, Any]]]) -> None:
    _, docs = manifests
    for name, spec in _pod_specs(docs).items():
        for container in spec.get("initContainers", []) + spec["containers"]:
            library = next(m for m in container["volumeMounts"] if m["mountPath"] == "/library")
            assert library["readOnly"] is True, name
        claim = next(v for v in spec["volumes"] if v["name"] == "library")["persistentVolumeClaim"]
        assert claim["readOnly"] is True, name


def test_gpus_only_in_the_gpu_overlay_and_in_limits(manifests: tuple[str, list[dict[str, Any]]]) -> None:
    overlay, docs = manifests
    for name, spec in _pod_specs(docs).items():
        resources = spec["containers"][0]["resources"]
        assert "nvidia.com/gpu" not in resources.get("requests", {}), name
        gpus = resources.get("limits", {}).get("nvidia.com/gpu")
        wanted = None if overlay == "cpu" or name == "ray-head" else 1
        assert gpus == wanted, name


def test_one_image_per_overlay(manifests: tuple[str, list[dict[str, Any]]]) -> None:
    overlay, docs = manifests
    images = {c["image"] for spec in _pod_specs(docs).values()
              for c in spec.get("initContainers", []) + spec["containers"]}
    tag = {"cpu": "cpu", "gpu": "cuda"}[overlay]
    assert len(images) == 1
    assert images.pop().endswith(f"-{tag}")
    assert {d["metadata"].get("namespace", "traum") for d in docs} == {"traum"}
