#!/bin/sh
# An agent that fails.
echo "starting"
echo "agent crashed: model not found" >&2
exit 2
