#!/bin/sh
# Hostile agent, part 5 (signals), one kind per run as SE_SIGNALS says (default "parent"), since the first
# that lands may end the command:
#   parent     SIGTERM to its parent (kill -TERM $PPID);
#   ancestors  SIGTERM to every ancestor it can see, the farthest first;
#   group      SIGTERM to its process group (kill -TERM 0), which may hold processes outside its namespace;
#   all        SIGKILL to every process it may signal (kill -9 -1).
# It prints "sending ..." before each signal and "... sent: <exit code>" after.
#
# Safety guard of the test machine, not part of the attack: outside a PID namespace of its own (in the same
# namespace as SE_HOST_PIDNS, the test's) it does nothing, since kill -9 -1 there would kill every process of
# the user (of the whole machine, as root).
here=$(readlink /proc/self/ns/pid 2>/dev/null)
if [ -z "${SE_HOST_PIDNS:-}" ] || [ "$here" = "$SE_HOST_PIDNS" ]; then
  echo "refusing: not in a PID namespace of its own ($here)" >&2
  exit 3
fi
echo "pid $$, parent $PPID, namespace $here"
send() {
  echo "sending kill $1 $2"
  kill "$1" "$2" 2>/dev/null
  echo "kill $1 $2 sent: $?"
}
case ${SE_SIGNALS:-parent} in
  parent) send -TERM "$PPID" ;;
  ancestors)
    chain=""
    p=$PPID
    n=0
    while [ -n "$p" ] && [ "$p" -gt 0 ] 2>/dev/null && [ "$n" -lt 64 ]; do
      chain="$p $chain"
      p=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$p/status" 2>/dev/null)
      n=$((n + 1))
    done
    echo "ancestors: $chain"
    for p in $chain; do send -TERM "$p"; done ;;
  group) send -TERM 0 ;;
  all) send -9 -1 ;;
esac
echo "still alive"
