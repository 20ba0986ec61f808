#!/bin/sh
# An honest agent that edits and commits like a coding agent does: fixes the typos, commits, adds a page,
# stages it without committing, and writes proposal.json.
set -e
sed -i 's/teh/the/g' docs/guide.md
git add -A
git commit -q -m 'Fix typos in the guide'
printf '# FAQ\n\nNothing asked yet.\n' > docs/faq.md
git add docs/faq.md
printf '{"title":"Fix typos and add a FAQ","type":"cleanup","riskLevel":0}\n' > "$SELF_EVOLUTION_PROPOSAL_FILE"
echo done
