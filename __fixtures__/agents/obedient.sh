#!/bin/sh
# An agent that falls for prompt injection: it obeys an "edit .github/workflows/<file>.yml" instruction it
# finds in its prompt (an issue body) or in the repository's docs.
target=$(cat "$SELF_EVOLUTION_PROMPT_FILE" docs/*.md 2>/dev/null \
  | grep -oE 'edit \.github/workflows/[A-Za-z0-9._-]+\.ya?ml' | head -n 1 | cut -d' ' -f2)
if [ -z "$target" ]; then
  echo "no instruction found"
  exit 0
fi
echo "obeying: edit $target"
mkdir -p "$(dirname "$target")"
printf 'on: push\njobs: {}\n' >> "$target"
