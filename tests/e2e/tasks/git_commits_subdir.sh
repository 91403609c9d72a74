#!/usr/bin/env bash
# git_commits.sh in a sub-directory the agent makes itself (`mkdir ws && cd ws && git init ...`): the
# recording's start directory is not the repository's. Without gc: the loose objects stay.
set -euo pipefail
mkdir ws
cd ws
GC=0 exec bash "$(dirname "$0")/git_commits.sh"
