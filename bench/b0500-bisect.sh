#!/bin/sh
# The bisection search's core (flights/bisect.c): flights needed and the
# time to choose each next revision, for 16, 256 and 4,096 commits with
# one culprit (bench/bisect-bench.c, built by make bench). The graph
# building from git and the flight scan around it are in b0510's whole
# step.
set -eu
"$(dirname "$HANGAR")/bench/bisect-bench"
