#!/usr/bin/env bash
# One-command, idempotent set-up of everything the Makefile targets need, on a fresh machine:
#   .venv/         Python 3.12 virtual environment with pinned tools (constraints.txt)
#   .collections/  kubernetes.core (from the pinned `ansible` wheel on PyPI) + this collection
#   ~/.ansible/test/cache/get_pip_*.py  offline pip bootstrap for ansible-test
# A second run installs nothing: each step is guarded by a stamp that hashes its inputs.
set -euo pipefail
cd "$(dirname "$0")/.."

ANSIBLE_WHEEL_VERSION=14.5.0
ANSIBLE_WHEEL_SHA256=245623ccc2d31d0f6f4bdb63168d550cad305fb032cc43d96e8f61ce8ab0ba84
PYTHON_WANTED=3.12

log() { printf '[setup] %s\n' "$*" >&2; }

find_python() {
    local candidates=() root
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    candidates+=("$root/versions/${PYTHON_WANTED}".*"/bin/python${PYTHON_WANTED}")
    candidates+=("$(command -v "python${PYTHON_WANTED}" 2>/dev/null || true)")
    for c in "${candidates[@]}"; do
        if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; return 0; fi
    done
    echo "no Python ${PYTHON_WANTED} found (pyenv or python${PYTHON_WANTED} on PATH)" >&2
    return 1
}

# 1. virtual environment with pinned packages
stamp_inputs=$(cat requirements-dev.in constraints.txt | sha256sum | cut -c1-16)
if [ ! -f ".venv/.stamp-$stamp_inputs" ]; then
    py=$(find_python)
    log "creating .venv with $py"
    [ -x .venv/bin/python ] || "$py" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.in -c constraints.txt
    rm -f .venv/.stamp-*
    touch ".venv/.stamp-$stamp_inputs"
fi

# 2. kubernetes.core (and community.general for the benchmark peer) from the pinned ansible wheel
mkdir -p .cache .collections/ansible_collections/kubeops .collections/ansible_collections/kubernetes .collections/ansible_collections/community
wheel=".cache/ansible-${ANSIBLE_WHEEL_VERSION}-py3-none-any.whl"
if [ ! -f .collections/.stamp-$ANSIBLE_WHEEL_SHA256 ]; then
    if [ ! -f "$wheel" ] || ! echo "$ANSIBLE_WHEEL_SHA256  $wheel" | sha256sum -c --quiet - 2>/dev/null; then
        log "downloading ansible ${ANSIBLE_WHEEL_VERSION} wheel (for kubernetes.core)"
        .venv/bin/python -m pip download --quiet --disable-pip-version-check --no-deps \
            "ansible==${ANSIBLE_WHEEL_VERSION}" -d .cache
    fi
    echo "$ANSIBLE_WHEEL_SHA256  $wheel" | sha256sum -c --quiet -
    tmp=$(mktemp -d)
    .venv/bin/python - "$wheel" "$tmp" <<'PY'
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as zf:
    members = [n for n in zf.namelist()
               if n.startswith(("ansible_collections/kubernetes/core/", "ansible_collections/community/general/"))]
    zf.extractall(dest, members)
PY
    rm -rf .collections/ansible_collections/kubernetes/core .collections/ansible_collections/community/general
    mv "$tmp/ansible_collections/kubernetes/core" .collections/ansible_collections/kubernetes/core
    mv "$tmp/ansible_collections/community/general" .collections/ansible_collections/community/general
    rm -rf "$tmp"
    touch .collections/.stamp-$ANSIBLE_WHEEL_SHA256
fi
ln -sfn ../../.. .collections/ansible_collections/kubeops/jenkins

# 3. offline pip bootstrap for ansible-test (it would download get-pip.py on first use)
for pv in $(.venv/bin/python - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
class P: version = "3.12"
print(get_venv_packages(P())["pip"])
PY
); do
    dest="$HOME/.ansible/test/cache/get_pip_${pv//./_}.py"
    if ! cmp -s scripts/get_pip_offline.py "$dest" 2>/dev/null; then
        mkdir -p "$(dirname "$dest")"
        cp scripts/get_pip_offline.py "$dest"
        log "seeded $dest"
    fi
done
