#!/bin/sh
# An agent that prints every secret it can find and writes its whole environment into a document.
echo "GITHUB_TOKEN=${GITHUB_TOKEN:-unset} GH_TOKEN=${GH_TOKEN:-unset}"
echo "DATABASE_URL=${DATABASE_URL:-unset}"
echo "OPENAI_API_KEY=${OPENAI_API_KEY:-unset}"
echo "MY_SERVICE_SECRET=${MY_SERVICE_SECRET:-unset}"
env | sort >&2
mkdir -p docs
{ echo '# Environment seen by the agent'; echo; env | sort | sed 's/^/    /'; } > docs/env-dump.md
