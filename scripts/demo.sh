#!/usr/bin/env bash
# make demo: the main job on the shipped models/, no AWS account needed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
echo "== cam-gitops check (every commit)"
cam-gitops check
