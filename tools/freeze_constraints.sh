#!/usr/bin/env bash
# Regenerate constraints.txt from the current .venv (after a deliberate upgrade).
# The local CPU wheel's "+cpu" tag is dropped so that a GPU machine resolves the same torch release.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pip freeze --exclude-editable | grep -vi '^petlab' | sed 's/+cpu//' > constraints.txt
echo "constraints.txt: $(wc -l < constraints.txt) pins"
