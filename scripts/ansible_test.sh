#!/usr/bin/env bash
# Run ansible-test from the layout it requires (ansible_collections/kubeops/jenkins): a copy of the
# tracked files of this checkout (git add new files first) under build/, refreshed on every call.
# Usage: scripts/ansible_test.sh sanity --python 3.12 ... | scripts/ansible_test.sh units ...
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEST="$ROOT/build/ansible_collections/kubeops/jenkins"
mkdir -p "$DEST"
# rsync-like refresh without rsync: the tracked files, with their work-tree content (what CI sees)
# sandbox/, bench/ and the pytest suites are not collection content (build_ignore): not linted by ansible-test
git ls-files -z -- . ':!sandbox' ':!bench' ':!tests/sandbox' ':!tests/integration' ':!tests/reliability' ':!docs/dev' ':!inventories/sandbox' | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done > build/.filelist
( cd "$DEST" && find . -type f -not -path './tests/output/*' -not -path './.git/*' -print0 ) | while IFS= read -r -d '' f; do
    f=${f#./}; grep -qzxF -- "$f" build/.filelist || rm -f -- "$DEST/$f"
done
tar -cf - --null -T build/.filelist | tar -xf - -C "$DEST"
# ansible-test lists files with git when a .git exists; give the copy a throwaway repository
if [ ! -d "$DEST/.git" ]; then git -C "$DEST" init -q; fi
git -C "$DEST" add -A >/dev/null 2>&1
cd "$DEST"
# collections this one depends on (galaxy.yml) must sit in the same ansible_collections tree for
# ansible-test's import sanity test and units (kubernetes.core's module_utils are imported)
ln -sfn "$ROOT/.collections/ansible_collections/kubernetes" "$ROOT/build/ansible_collections/kubernetes"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/build:$ROOT/.collections"
export PATH="$ROOT/.venv/bin:$PATH"
exec "$ROOT/.venv/bin/ansible-test" "$@"
