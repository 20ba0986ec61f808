#!/bin/sh
# Builds the agent and copies it to the release folder. Run by a human, never by the loop.
set -eu
npm run build
mkdir -p release
cp -r lib release/
echo "built release/"
