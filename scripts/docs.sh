#!/usr/bin/env bash
# Lint the collection's documentation and build its docsite, offline, with antsibull-docs + Sphinx.
#
#   scripts/docs.sh [--lint-only] [DEST]      (DEST default: build/docs)
#
# 1. antsibull-docs lint-collection-docs --plugin-docs: module and role documentation against the
#    schema (argument_specs.yml included), semantic markup, references to plugins/roles/options of
#    this and the dependent collections, links.yml/extra-docs.yml/config.yml, rstcheck of the
#    generated pages and of docs/docsite/rst/.
# 2. antsibull-docs sphinx-init + collection: module, role and extra-docs pages into DEST/rst.
# 3. sphinx-build -W (nitpicky): the HTML site in DEST/build/html; any warning fails, e.g. a
#    :ref: to a label that does not exist. Intersphinx is offline: references into the Ansible docs
#    resolve through a small local inventory of the labels the generated pages use (below), with
#    links to the real pages; a new one shows up as "undefined label" and is added there.
# 4. Every module, role and extra-docs page must exist in the output.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"
# the checkout through .collections/ (make setup), unless the caller already points at a collections path
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$ROOT/.collections}"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false

lint_only=false
if [ "${1:-}" = "--lint-only" ]; then lint_only=true; shift; fi
dest=${1:-build/docs}

log() { printf '[docs] %s\n' "$*" >&2; }

# The lint copies the collection into a temporary ansible_collections tree and reads the plugin docs
# there. With this checkout on ANSIBLE_COLLECTIONS_PATH too (.collections/kubeops/jenkins), each
# page's "Edit on GitHub" path is computed from one copy to the other
# (edit/main/../../tmp/antsibull-docs-ab1c2d3_/...), and when the random temp name ends in "_",
# rstcheck reads it as a reference to an unknown target: about one run in 37 failed. So the lint
# sees the other collections (the dependencies, for reference checks) and not this one.
lint_paths=$(mktemp -d)
trap 'rm -rf "$lint_paths"' EXIT
mkdir "$lint_paths/ansible_collections"
IFS=: read -r -a search <<< "$ANSIBLE_COLLECTIONS_PATH"
for base in "${search[@]}"; do
    for coll in "$base"/ansible_collections/*/*/; do
        [ -d "$coll" ] || continue
        coll=${coll%/}
        name=${coll#"$base"/ansible_collections/}
        [ "$name" = kubeops/jenkins ] && continue
        [ -e "$lint_paths/ansible_collections/$name" ] && continue   # the first on the path wins
        mkdir -p "$lint_paths/ansible_collections/${name%/*}"
        ln -s "$coll" "$lint_paths/ansible_collections/$name"
    done
done

log "antsibull-docs lint-collection-docs"
ANSIBLE_COLLECTIONS_PATH=$lint_paths antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs \
    --validate-collection-refs all --disallow-unknown-collection-refs .
if $lint_only; then exit 0; fi

# antsibull-docs wants its destination owned by the user and not writable by others
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mkdir -m 0755 "$dest"
dest=$(cd "$dest" && pwd)

log "antsibull-docs sphinx-init into $dest"
antsibull-docs sphinx-init --use-current --squash-hierarchy --sphinx-theme alabaster \
    --project kubeops.jenkins --title "kubeops.jenkins" --dest-dir "$dest" kubeops.jenkins >/dev/null

# Offline intersphinx: an inventory of the Ansible docs labels the generated pages refer to.
python - "$dest" <<'PY'
import re
import sys
import zlib
from pathlib import Path

dest = Path(sys.argv[1])
labels = [  # label, page (relative to the Ansible devel docs), title
    ("common_return_values", "reference_appendices/common_return_values.html#common-return-values", "Return Values"),
    ("ansible_configuration_settings", "reference_appendices/config.html#ansible-configuration-settings",
     "Ansible Configuration Settings"),
]
body = "".join(f"{name} std:label -1 {uri} {title}\n" for name, uri, title in labels)
header = "# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n# The remainder of this file is compressed using zlib.\n"
(dest / "ansible_devel.inv").write_bytes(header.encode() + zlib.compress(body.encode()))
conf = dest / "conf.py"
text, count = re.subn(
    r"intersphinx_mapping = \{.*?\n\}",
    "intersphinx_mapping = {\n    'ansible_devel': ('https://docs.ansible.com/projects/ansible/devel/', %r),\n}"
    % str(dest / "ansible_devel.inv"),
    conf.read_text(), flags=re.S)
assert count == 1, "conf.py of antsibull-docs sphinx-init changed: intersphinx_mapping not found"
conf.write_text(text)
PY

log "antsibull-docs collection + sphinx-build -W"
bash "$dest/build.sh" >"$dest/build.log" 2>&1 || { cat "$dest/build.log"; log "docsite build FAILED"; exit 1; }

missing=0
check() { [ -f "$dest/rst/$1" ] || { log "missing page: $1"; missing=1; }; }
for f in plugins/modules/*.py; do
    name=$(basename "$f" .py)
    [ "$name" = "__init__" ] || check "${name}_module.rst"
done
for d in roles/*/; do
    name=$(basename "$d")
    case "$name" in _*) continue ;; esac
    [ -f "$d/meta/argument_specs.yml" ] && check "${name}_role.rst"
done
for f in docs/docsite/rst/*.rst; do check "docsite/$(basename "$f")"; done
[ "$missing" -eq 0 ] || exit 1
[ -f "$dest/build/html/index.html" ] || { log "no HTML index"; exit 1; }
log "OK: $dest/rst (RST) and $dest/build/html (HTML)"
