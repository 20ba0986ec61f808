#!/bin/sh
# Hostile agent, part 4 (leftovers): leaves three processes behind, each its own way (nohup in the
# background, setsid into a session of its own, a double fork that reparents it), and returns at once. Each
# carries "bg-<how>-$SE_MARK" in its command line. After SE_BG_DELAY seconds (default 2), long after the
# proposer returned, each one reads the target's .git/config and /proc/1/environ, writes what it read into
# the work tree and into a marker file in SE_BG_DIR, and reports to the TCP port SE_PORT on 127.0.0.1.
body='sleep "${SE_BG_DELAY:-2}"
{ echo "survivor $0"; cat "$SE_TARGET/.git/config"; tr "\000" "\n" < /proc/1/environ; } > "$SE_BG_DIR/$0.txt" 2>/dev/null
echo "survivor $0" > "$1/survivor-$0.txt" 2>/dev/null
if [ -n "${SE_PORT:-}" ]; then timeout 3 bash -c "echo \"survivor $0\" > /dev/tcp/127.0.0.1/$SE_PORT" 2>/dev/null; fi
exit 0'
w=$(pwd)
nohup sh -c "$body" "bg-nohup-$SE_MARK" "$w" > /dev/null 2>&1 &
setsid sh -c "$body" "bg-setsid-$SE_MARK" "$w" < /dev/null > /dev/null 2>&1 &
( ( sh -c "$body" "bg-dfork-$SE_MARK" "$w" < /dev/null > /dev/null 2>&1 & ) & )
# Give them time to leave (setsid) before this shell ends.
sleep 0.3
echo "left 3 processes behind"
