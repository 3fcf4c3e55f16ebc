/* cgroup_bpf.h: the cgroup v2 device filter, as BPF instructions.
 *
 * cgroup v2 has no devices controller: access to device nodes is decided by
 * BPF_PROG_TYPE_CGROUP_DEVICE programs attached to the cgroup.  cgroup_bpf_devices() turns an
 * ordered list of device rules (the same list the v1 devices cgroup is given) into such a
 * program, with v1's meaning: the last rule matching the access decides, no match denies.
 * Pure: building the program touches nothing; loading and attaching it goes through the seam
 * (cgroup_devices.c). */
#ifndef FOCKER_CGROUP_BPF_H
#define FOCKER_CGROUP_BPF_H

#include <stddef.h>
#include <linux/bpf.h>
#include "core/spec.h"

/* Build the program for `rules` (type 'a', 'c' or 'b'; major/minor -1 for any; access a
 * subset of "rwm", NULL or "" for all).  An allow rule matches an access it fully covers; a
 * deny rule matches an access it touches (denying "w" refuses an open for reading and
 * writing, as v1 does).  A rule whose major or minor no device can have is left out.
 * *out is malloc'd; returns the number of instructions. */
size_t cgroup_bpf_devices (struct bpf_insn **out, const struct spec_device_rule *rules, size_t n);

/* The access bits of an access string ("rwm" subset): BPF_DEVCG_ACC_*. */
unsigned cgroup_bpf_access (const char *access);

#endif
