#!/usr/bin/env bash
# Lays out the demo page for serving: OUT holds links to www/'s files and `pkg`,
# a link to the built package PKG (the page imports ./pkg/index.js).
#
#   scripts/build/www.sh PKG OUT
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if (($# != 2)); then
  echo "usage: scripts/build/www.sh PKG OUT" >&2
  exit 2
fi
pkg="$(cd "$1" && pwd)"
[[ -f $pkg/index.js ]] || { echo "www: $pkg holds no built package (index.js)" >&2; exit 1; }
rm -rf "$2"
mkdir -p "$2"
ln -s "$root"/www/* "$2"/
ln -s "$pkg" "$2/pkg"
