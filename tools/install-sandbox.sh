#!/usr/bin/env bash
# Install bubblewrap (`bwrap`), the sandbox `python -m labhelpers grade` runs every student kernel in.
# Debian/Ubuntu package `bubblewrap` (the sandbox Flatpak uses). Installs only where it can (root
# with apt-get); elsewhere it says what to run and exits 0: learners never need it, graders do.
set -euo pipefail
if command -v bwrap >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
  echo "installed bubblewrap (bwrap) for sandboxed grading"
else
  echo "note: bubblewrap (bwrap) is missing; grading needs it: sudo apt-get install bubblewrap" >&2
fi
