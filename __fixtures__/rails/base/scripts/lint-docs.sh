#!/bin/sh
# Lists docs pages without a top-level heading.
set -eu
for f in docs/*.md; do
  head -n 1 "$f" | grep -q '^# ' || echo "$f: no heading"
done
