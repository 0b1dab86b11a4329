#!/bin/sh
# Installs Traum into a fresh virtual environment. The image's one install step (deploy/Dockerfile)
# and the CI test that replays it outside Docker (tests/deploy/test_image_steps.py) both run this file.
#   deploy/install.sh VENV WHEEL_DIR [TORCH_INDEX] [EXTRAS]
# TORCH_INDEX chooses the torch build: https://download.pytorch.org/whl/cpu gives the CPU build
# (~0.7 GB instead of ~4 GB); .../whl/cu128 or empty (pip's own index) the CUDA build, which carries
# its CUDA libraries, so the host needs only the NVIDIA driver. EXTRAS: Traum's extras, e.g. "ray"
# (the Ray executor, and the `ray` command KubeRay starts its pods with).
set -eu
venv=$1 wheels=$2 torch_index=${3:-} extras=${4:-}
python3 -m venv "$venv"
pip="$venv/bin/pip"
if [ -n "$torch_index" ]; then
    # torch first, from its own index only (no --extra-index-url: no other package can come from
    # there); the version pin is read from the wheel, so the image cannot disagree with pyproject.toml.
    torch_req=$("$venv/bin/python" - "$wheels" <<'PY'
import glob, sys, zipfile
wheel = zipfile.ZipFile(glob.glob(sys.argv[1] + "/traum-*.whl")[0])
metadata = wheel.read(next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))).decode()
print(next(line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Requires-Dist: torch")))
PY
)
    "$pip" install --no-cache-dir --index-url "$torch_index" "$torch_req"
fi
wheel=$(ls "$wheels"/traum-*.whl)
"$pip" install --no-cache-dir "$wheel${extras:+[$extras]}"
# The console script is the image's entrypoint: fail the build, not the first start, if it cannot load.
"$venv/bin/traum" --help >/dev/null
