#!/usr/bin/env bash
# Run galaxy-importer (the checks Galaxy runs on upload) on a built collection tarball, offline.
#
#   scripts/galaxy_importer.sh build/dist/kubeops-jenkins-0.1.0.tar.gz [OUT_DIR]
#   scripts/galaxy_importer.sh --setup        # only create/refresh the importer's venv
#
# galaxy-importer 0.4.44 pins attrs<24, which conflicts with the attrs the main .venv needs
# (ansible-lint/jsonschema stack), so it lives in its own virtual environment, created here with the
# exact versions below (idempotent: a stamp hashes the pins), outside the checkout so that neither
# the collection build nor ansible-test's copy of the tree (scripts/ansible_test.sh) carries it:
# $KUBEOPS_IMPORTER_VENV, default ${XDG_CACHE_HOME:-~/.cache}/kubeops.jenkins/venv-importer.
#
# Configuration (what Galaxy runs, minus what needs a container engine or the network):
#   run_ansible_test=False   ansible-test sanity needs Docker/Podman there; `make sanity` runs it
#   run_ansible_lint=True with offline_ansible_lint=True   (ansible-lint --offline)
#   run_ansible_doc=True, check_changelog=True
# Writes OUT_DIR/importer_result.json and OUT_DIR/importer.log (default build/galaxy-importer).
# Exit status: non-zero if the import failed or logged any ERROR line.
set -euo pipefail
cd "$(dirname "$0")/.."
# The importer's venv must see only its own packages: a caller's PYTHONPATH (ansible-test injects
# its own ansible) would make pip skip ansible-core and ansible-doc import the wrong one.
unset PYTHONPATH PYTHONHOME

PYTHON_WANTED=3.12
VENV=${KUBEOPS_IMPORTER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeops.jenkins/venv-importer}
PINS="ansible-builder==3.2.0 ansible-compat==26.10.0 ansible-core==2.21.5 ansible-lint==26.10.1
attrs==23.2.0 bindep==2.14.0 black==26.10.1 bracex==3.2.2 certifi==2026.10.19.post1 cffi==2.1.1
charset-normalizer==3.5.2 click==8.5.1 cryptography==50.0.2 distro==1.9.0 filelock==4.2.12
flake8==6.1.0 galaxy-importer==0.4.44 idna==3.20 Jinja2==3.1.6 jsonschema==4.26.0
jsonschema-specifications==2025.9.1 Markdown==3.11.3 MarkupSafe==3.0.4 mccabe==0.7.0
mypy_extensions==1.2.0 nh3==0.3.8 packaging==26.3 Parsley==1.3 pathspec==1.1.1 pbr==7.1.3
platformdirs==4.14.8 pycodestyle==2.11.1 pycparser==3.12 pyflakes==3.1.0 pytokens==0.4.1
PyYAML==6.0.4 referencing==0.37.0 requests==2.34.2 resolvelib==1.2.1 rpds-py==2026.9.1
ruamel.yaml==0.19.1 semantic-version==2.10.0 subprocess-tee==0.4.2 typing_extensions==4.16.0
urllib3==2.8.0 wcmatch==12.0.1 yamllint==1.38.0"

log() { printf '[galaxy-importer] %s\n' "$*" >&2; }

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

setup_venv() {
    local stamp
    stamp=$(printf '%s\n' "$PINS" | sha256sum | cut -c1-16)
    if [ -f "$VENV/.stamp-$stamp" ]; then return 0; fi
    local py constraints
    py=$(find_python)
    log "creating $VENV with $py"
    mkdir -p "$(dirname "$VENV")"
    [ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV"
    constraints=$(mktemp)
    # shellcheck disable=SC2086  # one pin per word
    printf '%s\n' $PINS >"$constraints"
    # (pip's notes about unreadable local index locations are filtered out)
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        galaxy-importer -c "$constraints" 2>&1 | { grep -v "is ignored: it is neither a file" || true; } >&2
    rm -f "$constraints" "$VENV"/.stamp-*
    touch "$VENV/.stamp-$stamp"
}

setup_venv
if [ "${1:-}" = "--setup" ]; then exit 0; fi

tarball=${1:?usage: scripts/galaxy_importer.sh TARBALL [OUT_DIR]}
out=${2:-build/galaxy-importer}
tarball=$(readlink -f "$tarball")
mkdir -p "$out"
out=$(readlink -f "$out")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tmp" "$work/ansible-tmp"
cat >"$work/galaxy-importer.cfg" <<EOF
[galaxy-importer]
run_ansible_test = False
ansible_test_local_image = False
local_image_docker = False
run_ansible_lint = True
offline_ansible_lint = True
run_ansible_doc = True
check_changelog = True
check_required_tags = False
require_v1_or_greater = False
tmp_root_dir = $work/tmp
ansible_local_tmp = $work/ansible-tmp
log_level_main = INFO
EOF

venv_bin=$(readlink -f "$VENV/bin")
rm -f "$out/importer_result.json"
set +e
(
    cd "$work"
    # ansible-lint and ansible-doc are found on PATH: the importer venv's own.
    env -u ANSIBLE_COLLECTIONS_PATH -u ANSIBLE_CONFIG PATH="$venv_bin:$PATH" \
        GALAXY_IMPORTER_CONFIG="$work/galaxy-importer.cfg" HOME="$work" \
        "$venv_bin/python" -m galaxy_importer.main "$tarball"
) >"$out/importer.log" 2>&1
rc=$?
set -e
[ -f "$work/importer_result.json" ] && cp "$work/importer_result.json" "$out/importer_result.json"
cat "$out/importer.log"
if [ $rc -ne 0 ] || [ ! -f "$out/importer_result.json" ]; then
    log "import FAILED (exit $rc), see $out/importer.log"
    exit 1
fi
if grep -q '^ERROR:' "$out/importer.log"; then
    log "import logged errors, see $out/importer.log"
    exit 1
fi
log "import OK: $out/importer_result.json"
