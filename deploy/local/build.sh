#!/usr/bin/env bash
# `make build`: installs what is missing and builds the release flavour in
# build/ (the one `make run` uses).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bw_deps_ensure "${BW_DEPS[@]}"
bw_node_ensure
bw_build "$BW_REPO/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
