#!/usr/bin/env bash
# The main job, on a real git repository: copies examples/demo-repo into a fresh git repository, turns the
# feature flag on in its embedded database and makes one dry run, printing each proposal with its verdict.
# Then shows that a second run the same day is skipped, the `status` table, the artifacts and the head of a
# pull request preview. Then live mode (scripts/demo-live.ts): one live run against a LOCAL fake of GitHub's
# API and a local bare repository, printing the pull request it opened; exits non-zero unless it opened
# exactly the expected one. Last, the HTML dashboard of the demo's database (`report --all`), its path printed.
# Needs `npm ci` first (the fake is a devDependency's work).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cli="node $root/bin/self-evolution.js"
tsx="$root/node_modules/.bin/tsx"
# Always the embedded database in the demo checkout: a shared Postgres from DATABASE_URL could already hold a
# run of demo/agent today (the live part would be skipped, or stopped by pullRequest.maxPerDay).
unset DATABASE_URL
[ -x "$tsx" ] || { echo "demo: run 'npm ci' first (tsx and the GitHub fake's packages are missing)" >&2; exit 1; }
# lib/ is built by `npm ci` (prepare); rebuilt here when missing or older than a source file.
if [ ! -f "$root/lib/cli.js" ] || [ -n "$(find "$root/src" -name '*.ts' -newer "$root/lib/cli.js" -print -quit)" ]; then
  (cd "$root" && npm run --silent build:cli)
fi

target=${DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/self-evolution-demo.XXXXXX")}
mkdir -p "$target"
cp -R "$root/examples/demo-repo/." "$target/"
git -C "$target" init -q -b main
git -C "$target" add -A
git -C "$target" -c user.name=demo -c user.email=demo@example.invalid commit -q -m "demo agent"

echo "== demo repository: $target"
echo "== turning the feature flag on (absent means off)"
$cli flag set self_evolution_enabled true --repo "$target"
echo "== self-evolution run --repo $target --no-jitter"
$cli run --repo "$target" --no-jitter
echo "== the same again: a second run the same day is skipped"
$cli run --repo "$target" --no-jitter
echo "== self-evolution status --repo $target"
$cli status --repo "$target"
# Artifacts are in <run-id>-<database id>: the first run's directory starts with "1-".
first=$(ls -d "$target/.self-evolution/artifacts"/1-* | head -n 1)
echo "== artifacts of the first run ($first)"
ls "$first"
echo "== a dry run's preview: the first 30 lines of proposal-1.pull-request.md (what live mode would open)"
head -n 30 "$first/proposal-1.pull-request.md"
echo "   ..."
"$tsx" "$root/scripts/demo-live.ts" "$target"
echo "== the dashboard: self-evolution report --repo $target --all"
dashboard=$($cli report --repo "$target" --all)
echo "   written: $dashboard (open it in a browser: one self-contained file)"
