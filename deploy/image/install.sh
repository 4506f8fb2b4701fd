#!/bin/sh
# Install Touchpoint Sentinel into a new virtual environment from wheels alone, offline,
# leaving neither pip nor setuptools in it, then check that the command runs.
# Needs no root: the image runs it as root into /opt/sentinel, the tests as an ordinary user.
# Usage: install.sh WHEEL_DIR PREFIX   (PYTHON picks the interpreter, default python3)
set -eu
wheel_dir=$1
prefix=$2
python=${PYTHON:-python3}
"$python" -m venv --without-pip "$prefix"
"$python" -m pip --python "$prefix/bin/python" install --no-cache-dir --no-index --no-compile \
    --find-links "$wheel_dir" "touchpoint-sentinel[rocksdb]"
"$prefix/bin/python" -m compileall -q "$prefix/lib"
"$prefix/bin/sentinel" patterns --json >/dev/null
