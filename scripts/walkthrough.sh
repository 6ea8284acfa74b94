#!/usr/bin/env bash
# Runs the README's walk-through: every ```sh block of its "A walk-through" section, in order,
# as one shell session that stops at the first failing command.
set -euo pipefail
cd "$(dirname "$0")/.."

script=$(awk '
    /^## / { inside = ($0 == "## A walk-through") }
    inside && /^```sh$/ { block = 1; next }
    inside && /^```$/ { block = 0; next }
    inside && block { print }
' README.md)
if [ -z "$script" ]; then
    echo "the README has no walk-through to run" >&2
    exit 1
fi
bash -euo pipefail -c "$script"
