#!/bin/sh
# An agent that never returns.
echo "thinking..."
sleep 1000
