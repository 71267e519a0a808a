#!/usr/bin/env bash
# clients/typescript/check.sh BUILD-DIR: builds the client as `npm run build`
# would and runs its tests against the stack at BULWARK_TEST_URL (make test
# exports it). The package is staged in BUILD-DIR/clients/typescript beside a
# link to the node_modules that tools/npm/install.sh installs once per
# machine, so the source tree stays clean; the types are generated from the
# running gateway's /v1/openapi.json. ctest runs it (../CMakeLists.txt).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
build=$(cd "$1" && pwd -P)
: "${BULWARK_TEST_URL:?is not set: run through make test (deploy/local/test.sh)}"
modules=$("$here/../../tools/npm/install.sh" "$here")
stage=$build/clients/typescript
rm -rf "$stage/src" "$stage/test" "$stage/dist"
mkdir -p "$stage"
cp -r "$here/package.json" "$here/tsconfig.json" "$here/src" "$here/test" "$stage/"
ln -sfn "$modules" "$stage/node_modules"
cd "$stage"
BULWARK_OPENAPI=$BULWARK_TEST_URL/v1/openapi.json
node_modules/.bin/openapi-typescript "$BULWARK_OPENAPI" --output src/generated/schema.ts
node_modules/.bin/tsc -p .
exec node --test dist/test/*.test.js
