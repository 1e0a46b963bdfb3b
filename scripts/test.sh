#!/usr/bin/env bash
# The one test command: unit tests, then the client e2e suite (boto3 + aws CLI v1 against the built binary).
#
#   scripts/test.sh                 # everything
#   scripts/test.sh -k rules -x     # extra arguments go to pytest
#
# Needs what README's "Set up" lists (Rust, a C/C++ compiler, Python 3.11 with venv, openssl). Python
# packages go into .venv in the repository root, pinned by scripts/e2e/requirements.txt.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
# Cargo's own target directory unless CARGO_TARGET_DIR says otherwise (.ci/run sets it), so this
# script and `cargo run -- serve` share one build of DuckDB.
target_dir=${CARGO_TARGET_DIR:-$root/target}
python=${PYTHON:-python3}
venv=$root/.venv
requirements=$root/scripts/e2e/requirements.txt

# --- Python environment -------------------------------------------------------------------------
if [ ! -x "$venv/bin/python" ]; then
    echo "==> creating $venv"
    if ! "$python" -m venv "$venv"; then
        echo "error: '$python -m venv' failed; install Python 3.11 with its venv module (Debian: python3-venv)" >&2
        exit 1
    fi
fi
# Reinstall only when the pins changed (pip is slow even when everything is satisfied).
stamp=$venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing $requirements"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
    echo "$want" >"$stamp"
fi

# --- Rust ----------------------------------------------------------------------------------------
echo "==> scripts/check-layers.py" && "$python" scripts/check-layers.py
echo "==> cargo build"
cargo build
echo "==> cargo test --workspace"
cargo test --workspace

# --- client e2e ----------------------------------------------------------------------------------
bin=$target_dir/debug/localelb
if [ ! -x "$bin" ]; then
    echo "error: $bin was not built" >&2
    exit 1
fi
echo "==> pytest scripts/e2e (LOCALELB_BIN=$bin)"
LOCALELB_BIN=$bin "$venv/bin/python" -m pytest scripts/e2e -q "$@"
