#!/usr/bin/env bash
# Lints every shell script of the project with shellcheck. Without shellcheck installed it says how to get it
# and fails, so that a lint run never passes without having checked the scripts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "shellcheck is not installed: install it (Debian/Ubuntu: apt-get install shellcheck) and re-run" >&2
  exit 1
fi
shellcheck -x test-network.sh network/scripts/*.sh network/builders/ccaas/bin/* .ci/run bench/caliper/*.sh aggregator/scripts/*.sh
