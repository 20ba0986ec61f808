#!/bin/sh
# An agent that outlives its timeout: ignores SIGTERM, starts children that ignore it too (one in the
# background, one in a session of its own, one double-forked), each with "linger-<how>-$SE_MARK" in its
# command line, and sleeps far beyond any timeout.
trap '' TERM HUP INT
sh -c 'sleep 60; exit 0' "linger-child-$SE_MARK" < /dev/null > /dev/null 2>&1 &
setsid sh -c 'sleep 60; exit 0' "linger-setsid-$SE_MARK" < /dev/null > /dev/null 2>&1 &
( sh -c 'sleep 60; exit 0' "linger-dfork-$SE_MARK" < /dev/null > /dev/null 2>&1 & )
echo "lingering"
sleep 60
