#!/bin/sh
# An agent that writes outside its worktree: next to it, into $HOME, and into the target checkout (found
# through the object directory its repository borrows from). It also makes an ordinary edit.
touch ../escape
echo x > "$HOME/x"
objects=$(head -n 1 .git/objects/info/alternates)
target=$(cd "$objects/../.." && pwd)
echo "escaped" > "$target/ESCAPED.md"
echo "one more line" >> docs/guide.md
