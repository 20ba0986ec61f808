#!/bin/sh
# An agent that reads its prompt and decides there is nothing to do.
test -f "$SELF_EVOLUTION_PROMPT_FILE"
echo "nothing to do"
