#!/bin/sh
# apt-install PACKAGE...: how an image's stage of the Dockerfile (at the
# repository's root) installs its Debian packages, in one RUN, as root:
# exactly the packages named (none of the recommended ones) from fresh
# package lists, which it then removes, so that the image keeps none.
# The runtime base stage copies it to /usr/local/sbin/apt-install;
# dockerfile.py (beside this file) reads a RUN of it as an apt-get install
# of its arguments.
set -eu
if [ "$#" -eq 0 ]; then
    echo "usage: apt-install PACKAGE..." >&2
    exit 2
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
rm -rf /var/lib/apt/lists/*
