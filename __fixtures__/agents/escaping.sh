#!/bin/sh
# An agent that writes outside its worktree: next to it, into $HOME, and into the target checkout (found
# through the worktree's link to the main repository). It also makes an ordinary edit.
touch ../escape
echo x > "$HOME/x"
target=$(cd "$(git rev-parse --git-common-dir)/.." && pwd)
echo "escaped" > "$target/ESCAPED.md"
echo "one more line" >> docs/guide.md
