#!/usr/bin/env bash
# Run ansible-test from the layout it requires (ansible_collections/kubeops/jenkins): a copy of the
# tracked and new (not ignored) files of this checkout under build/, refreshed on every call.
# Usage: scripts/ansible_test.sh sanity --python 3.12 ... | scripts/ansible_test.sh units ...
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEST="$ROOT/build/ansible_collections/kubeops/jenkins"
mkdir -p "$DEST"
# rsync-like refresh without rsync: list the files git knows (tracked + untracked, not ignored)
git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done > build/.filelist
( cd "$DEST" && find . -type f -not -path './tests/output/*' -print0 ) | while IFS= read -r -d '' f; do
    f=${f#./}; grep -qzxF -- "$f" build/.filelist || rm -f -- "$DEST/$f"
done
tar -cf - --null -T build/.filelist | tar -xf - -C "$DEST"
# ansible-test lists files with git when a .git exists; give the copy a throwaway repository
if [ ! -d "$DEST/.git" ]; then git -C "$DEST" init -q; fi
git -C "$DEST" add -A >/dev/null 2>&1
cd "$DEST"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/build:$ROOT/.collections"
exec "$ROOT/.venv/bin/ansible-test" "$@"
