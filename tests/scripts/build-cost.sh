#!/usr/bin/env bash
# What adding netns-test as a dev-dependency costs a cold build: a scratch
# crate with one test, built with `cargo test --no-run` in a fresh target
# dir, without netns-test, with it, and with its `network` feature.
# Usage: tests/scripts/build-cost.sh [RUNS]   (prints the fastest of RUNS)
set -euo pipefail
runs=${1:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d /tmp/netns-build-cost.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

crate() { # NAME DEPENDENCY-LINE TEST-ATTRIBUTE
  mkdir -p "$scratch/$1/src" "$scratch/$1/tests"
  cat >"$scratch/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2024"
[dev-dependencies]
$2
TOML
  : >"$scratch/$1/src/lib.rs"
  printf '%s\nfn binds() {\n    std::net::TcpListener::bind("127.0.0.1:80").unwrap();\n}\n' \
    "$3" >"$scratch/$1/tests/t.rs"
}

crate plain "" "#[test]"
crate with_netns_test "netns-test = { path = \"$root/netns-test\" }" "#[netns_test::netns_test]"
crate with_network "netns-test = { path = \"$root/netns-test\", features = [\"network\"] }" \
  "#[netns_test::netns_test]"

for name in plain with_netns_test with_network; do
  (cd "$scratch/$name" && timeout 5m cargo generate-lockfile --offline -q 2>/dev/null ||
    timeout 5m cargo generate-lockfile -q)
  best=
  for _ in $(seq "$runs"); do
    rm -rf "$scratch/target"
    start=$(date +%s%N)
    (cd "$scratch/$name" && CARGO_TARGET_DIR="$scratch/target" timeout 30m cargo test --no-run -q 2>/dev/null)
    took=$((($(date +%s%N) - start) / 1000000))
    if [ -z "$best" ] || [ "$took" -lt "$best" ]; then best=$took; fi
  done
  printf '%-16s %4d.%d s\n' "$name" $((best / 1000)) $((best % 1000 / 100))
done
