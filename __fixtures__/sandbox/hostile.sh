#!/bin/sh
# The hostile agent: walks for secrets, writes outside its work tree, plants traps in its own .git, leaves
# processes behind (parts 1 to 4; part 5, signals, may end the command, so it runs on its own), then exits
# 0 with its loot in the work tree.
dir=$(dirname "$0")
sh "$dir/hostile-walk.sh"
sh "$dir/hostile-writes.sh"
sh "$dir/hostile-plant.sh"
sh "$dir/hostile-background.sh"
exit 0
