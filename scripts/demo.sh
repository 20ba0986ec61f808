#!/usr/bin/env bash
# The main job, on a real git repository: copies examples/demo-repo into a fresh git repository, turns the
# feature flag on in its embedded database and makes one dry run, printing each proposal with its verdict.
# Then shows that a second run the same day is skipped, and the `status` table. Needs `npm install` first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cli="node $root/bin/self-evolution.js"
[ -f "$root/lib/cli.js" ] || (cd "$root" && npm run --silent build:cli)

target=${DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/self-evolution-demo.XXXXXX")}
mkdir -p "$target"
cp -R "$root/examples/demo-repo/." "$target/"
git -C "$target" init -q -b main
git -C "$target" add -A
git -C "$target" -c user.name=demo -c user.email=demo@example.invalid commit -q -m "demo agent"

echo "== demo repository: $target"
echo "== turning the feature flag on (seed 004: absent means off)"
$cli flag set self_evolution_enabled true --repo "$target"
echo "== self-evolution run --repo $target --no-jitter"
$cli run --repo "$target" --no-jitter
echo "== the same again: a second run the same day is skipped"
$cli run --repo "$target" --no-jitter
echo "== self-evolution status --repo $target"
$cli status --repo "$target"
echo "== artifacts of the first run"
ls "$target/.self-evolution/artifacts/1"
