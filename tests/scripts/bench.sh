#!/usr/bin/env bash
# The benchmark, as BENCHMARKS.md reports it: installs the Go peer's Debian
# packages (golang-go, golang-github-vishvananda-netns-dev) if they are
# missing, builds the bench and its suites in release, and runs it as root
# and as uid 65534 (inside the user namespace netns-test enters).
# Usage (as root): tests/scripts/bench.sh [SECTION...]   e.g. run cookie suite
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -d /usr/share/gocode/src/github.com/vishvananda/netns ] || ! command -v go >/dev/null; then
  timeout 10m apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 10m apt-get install -y -qq golang-go golang-github-vishvananda-netns-dev
fi
timeout 30m cargo bench -p netns-tests --no-run
bench=$(ls -t target/release/deps/netns-* | grep -v '\.d$' | head -1)
chmod -R o+rX target
echo "== as root"
timeout 30m "$bench" "$@"
echo "== as uid 65534"
(cd /tmp && timeout 30m setpriv --reuid=65534 --regid=65534 --clear-groups "$OLDPWD/$bench" "$@")
