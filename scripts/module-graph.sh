#!/usr/bin/env bash
# The library's module graph as cargo-modules sees it (`use` declarations and signatures),
# checked for cycles with tsort. Needs cargo-modules: `cargo install cargo-modules --version
# 0.27.0 --locked` (0.27 is the last release that builds with rustc 1.95; a 15-minute build
# on two cores). tests/layers.rs is the check CI runs: it also reads paths written inside
# function bodies, which cargo-modules does not see, and the floors' order.
#
#   bash scripts/module-graph.sh          # "acyclic: N use edges between M modules", exit 0
#   bash scripts/module-graph.sh --dot    # the graph itself, for `dot -Tsvg` or xdot
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-modules >/dev/null || {
  echo "error: cargo-modules is not installed; cargo install cargo-modules --version 0.27.0 --locked" >&2
  exit 2
}
# Modules only (no functions, types or traits: cargo-modules' --acyclic works item by item and
# refuses every type whose method names the type), "uses" edges only.
dot=$(cargo modules dependencies --lib --no-externs --no-sysroot --no-fns --no-traits \
  --no-types --no-owns --layout dot 2>/dev/null)
if [ "${1:-}" = "--dot" ]; then
  printf '%s\n' "$dot"
  exit 0
fi
edges=$(printf '%s\n' "$dot" | grep '"uses"' \
  | sed -E 's/^ *"([^"]+)" -> "([^"]+)".*/\1 \2/' | awk '$1 != $2')
if loops=$(printf '%s\n' "$edges" | tsort 2>&1 >/dev/null) && [ -z "$loops" ]; then
  modules=$(printf '%s\n' "$edges" | tr ' ' '\n' | sort -u | wc -l)
  echo "acyclic: $(printf '%s\n' "$edges" | wc -l) use edges between $modules modules"
else
  printf '%s\n' "$loops" >&2
  exit 1
fi
