#!/bin/sh
# Build wheels for Touchpoint Sentinel (with RocksDB) and everything it depends on.
# The image's build stage runs it; the install stage then needs no compiler and no index.
# Usage: build-wheels.sh SOURCE_DIR WHEEL_DIR   (PYTHON picks the interpreter, default python3)
set -eu
source_dir=$1
wheel_dir=$2
python=${PYTHON:-python3}
"$python" -m pip wheel --no-cache-dir --wheel-dir "$wheel_dir" "$source_dir[rocksdb]"
