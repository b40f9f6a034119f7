#!/bin/bash
# t0601-ssh-exec-channels: t0600 again with an exec channel per command
# (HANGAR_SSH_SHELL=0), the fallback for hosts where no remote shell runs,
# on a lab network of its own.
HANGAR_SSH_SHELL=0 T0600_NET=127.61.1 exec bash "$(dirname "$0")/t0600-ssh.sh"
