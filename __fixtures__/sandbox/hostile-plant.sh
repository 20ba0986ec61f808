#!/bin/sh
# Hostile agent, part 3 (traps): plants settings in its OWN .git that run a command whenever git uses that
# .git: core.fsmonitor, a post-index-change hook (core.hooksPath), a clean filter for *.md (.gitattributes in
# the work tree). Each writes a marker into SE_BG_DIR. Its own .git is its to change; none of this may ever
# run outside the sandbox (the run reads the change with a fresh .git: Workspace.seal).
m=${SE_MARK:-mark}
git config core.fsmonitor "touch $SE_BG_DIR/own-fsmonitor-$m"
git config filter.se.clean "touch $SE_BG_DIR/own-filter-$m; cat"
mkdir -p .git/hooks
printf '#!/bin/sh\ntouch %s/own-hook-%s\n' "$SE_BG_DIR" "$m" > .git/hooks/post-index-change
chmod +x .git/hooks/post-index-change
git config core.hooksPath .git/hooks
echo '*.md filter=se' > .gitattributes
echo "planted"
