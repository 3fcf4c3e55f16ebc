#!/bin/sh
# hostonly.sh [REPO]: the e2e tests that run on the host only, one name a line.
#
# t_crash.sh and t_concurrency.sh (and every other crash-at-every-call or concurrency loop)
# test focker's own cleanup and locking, t_podman.sh, t_containerd.sh and rootless podman
# (t_rootless.sh) the clients' protocol, t_pull.sh the distribution protocol against a local
# registry, and the bad-input sweeps (tables of wrong flags and configs that fail before any
# kernel work) the parsers, not the kernel.  Under TCG they are slow (on a loaded host the
# bad-input sweeps took 8.5 minutes of a 6.12 run and the pull tests 3) and their timing is
# not a host's.  The VMs (vm/init2) and the host's ENOSYS run (vm/check.sh: the old-kernel
# fallbacks, which none of them reaches in a way the rest of the suite does not) leave them
# out and say so.
e2e=${1:-$(dirname "$0")/..}/tests/e2e
{
  grep -ho '^test_[a-z0-9_]*' "$e2e/t_crash.sh" "$e2e/t_concurrency.sh" "$e2e/t_podman.sh" \
    "$e2e/t_containerd.sh" "$e2e/t_badinput.sh" "$e2e/t_pull.sh"
  grep -ho '^test_[a-z0-9_]*\(crash_at_every_call\|concurrent\|bad_input\|rootless_podman\)[a-z0-9_]*' "$e2e"/t_*.sh
} 2>/dev/null | sort -u
