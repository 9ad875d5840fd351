#!/usr/bin/env bash
# Checks that a user of the bundled server neither fetches nor compiles Hummingbird or Vapor: the
# package's default traits resolve a dependency graph without them. It resolves a copy of the
# package (its tracked files, without Package.resolved, as on a fresh clone) with the default
# traits, and fails if hummingbird or vapor, or what only they bring (swift-http-types,
# async-http-client, Vapor's kits, swift-crypto), was fetched or is in the graph. No build is
# needed: a package that is not fetched cannot be compiled.
set -euo pipefail
cd "$(dirname "$0")/.."
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$copy" 2>/dev/null || true
rm -f "$copy/Package.resolved"
(cd "$copy" && swift package resolve >"$copy/resolve.log" 2>&1) || { cat "$copy/resolve.log" >&2; exit 1; }
fetched=$(ls "$copy/.build/repositories" "$copy/.build/checkouts")
graph=$(cd "$copy" && swift package show-dependencies 2>/dev/null)
for unwanted in hummingbird vapor swift-http-types async-http-client routing-kit console-kit multipart-kit websocket-kit swift-crypto; do
  if grep -q "^$unwanted" <<<"$fetched" || grep -q "/$unwanted[.@<]" <<<"$graph"; then
    echo "check-default-build: the default build fetches $unwanted; every use of it must be conditional on the HummingbirdSupport or VaporSupport trait" >&2
    exit 1
  fi
done
echo "check-default-build: the default build fetches $(ls "$copy/.build/checkouts" | wc -l) packages, none of Hummingbird's or Vapor's"
