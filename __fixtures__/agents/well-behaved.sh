#!/bin/sh
# A well-behaved agent: reads its prompt, makes one small documentation edit, describes it.
set -eu
test -f "$SELF_EVOLUTION_PROMPT_FILE"
lines=$(wc -l < "$SELF_EVOLUTION_PROMPT_FILE")
echo "read the prompt ($lines lines)"
sed -i 's/teh/the/g' docs/guide.md
printf '\nThe guide was checked by an agent.\n' >> docs/guide.md
cat > "$SELF_EVOLUTION_PROPOSAL_FILE" <<'JSON'
{"title": "Fix typos in the guide", "description": "teh -> the, and a note that an agent checked it.", "type": "cleanup", "riskLevel": 0, "effort": 1}
JSON
echo "done"
