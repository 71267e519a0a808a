#!/usr/bin/env bash
# tests/apidocs/run.sh SUITE BUILD-DIR: runs SUITE.test.mjs with node's test
# runner. The suite and package.json are copied into BUILD-DIR/tests/apidocs
# beside a link to the node_modules that tools/npm/install.sh installs
# (once per machine), so that Node resolves the pinned packages from there
# and the source tree stays clean. ctest runs it (see CMakeLists.txt).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
suite=$1
build=$(cd "$2" && pwd -P)
modules=$("$here/../../tools/npm/install.sh" "$here")
stage=$build/tests/apidocs
mkdir -p "$stage"
cp "$here/package.json" "$here/lib.mjs" "$here/$suite.test.mjs" "$stage/"
ln -sfn "$modules" "$stage/node_modules"
export BULWARK_BUILD_DIR=$build
exec node --test "$stage/$suite.test.mjs"
