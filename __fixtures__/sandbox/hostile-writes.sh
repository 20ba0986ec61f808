#!/bin/sh
# Hostile agent, part 2 (writes): tries to write everywhere but its work tree, printing each outcome:
# its $HOME (.gitconfig, .npmrc), the real home of the user running it (SE_REAL_HOME, and the one in
# /etc/passwd), /tmp outside its own directory (SE_OUTSIDE_TMP and /tmp itself), the target checkout and its
# .git (config, hooks, objects) found through the object directory its repository borrows from, and the
# same by the absolute path of the target (SE_TARGET). Then makes an ordinary edit.
try() { if ( eval "$1" ) 2>/dev/null; then echo "write ok: $1"; else echo "write denied: $1"; fi; }
m=${SE_MARK:-mark}
try "printf '[core]\\n\\tfsmonitor = touch $SE_BG_DIR/home-gitconfig-$m\\n' >> \"\$HOME/.gitconfig\""
try "echo '//registry.npmjs.org/:_authToken=stolen' >> \"\$HOME/.npmrc\""
for h in "$SE_REAL_HOME" "$(getent passwd "$(id -u)" | cut -d: -f6)"; do
  [ -n "$h" ] && try "echo pwned > '$h/.se-hostile-$m'"
done
try "echo pwned > '/tmp/se-hostile-$m'"
try "echo pwned > '$SE_OUTSIDE_TMP/escaped-$m'"
try "rm -f '$SE_OUTSIDE_TMP/seed.txt'"
objects=$(head -n 1 .git/objects/info/alternates)
target=$(cd "$objects/../.." && pwd)
for t in "$target" "$SE_TARGET"; do
  try "echo pwned > '$t/ESCAPED-$m.md'"
  try "echo pwned >> '$t/README.md'"
  try "printf '[core]\\n\\tfsmonitor = touch $SE_BG_DIR/target-config-$m\\n' >> '$t/.git/config'"
  try "mkdir -p '$t/.git/hooks' && printf '#!/bin/sh\\ntouch $SE_BG_DIR/target-hook-$m\\n' > '$t/.git/hooks/post-checkout' && chmod +x '$t/.git/hooks/post-checkout'"
  try "echo x > '$t/.git/objects/se-hostile-$m'"
  try "rm -rf '$t/.git/refs/heads'"
done
try "echo pwned > '$objects/../escaped-$m'"
try "git -C '$SE_TARGET' config core.fsmonitor 'touch $SE_BG_DIR/target-git-config-$m'"
echo "ordinary edit" >> docs/guide.md
