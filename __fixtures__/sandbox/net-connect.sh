#!/bin/sh
# Connects to the TCP port SE_PORT on 127.0.0.1 and sends "hello $SE_MARK"; prints "connected" or
# "no connection" and records the outcome in net.txt (so the proposer has a change to propose).
if timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$SE_PORT" && echo "hello $SE_MARK" >&3' 2>/dev/null; then
  echo connected | tee net.txt
else
  echo "no connection" | tee net.txt
fi
