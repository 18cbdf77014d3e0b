/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What `migkit doctor` says about the instances path: whether migkit takes
 * it as local to this host or shared, and which rule decided (the
 * filesystem type found from the open directory's mount id, against
 * [filesystems] local); this host's id and mark there, and the marks of
 * other hosts, with what to do when one is there only because the disk was
 * cloned from that host. The one thing doctor writes is this host's mark
 * (hostmark.h), as the hook and migkit-watch do. */
#pragma once

#include "config.h"
#include "preflight.h"

/* Appends the results "instances" (the filesystem rule) and "marks" (this
 * host's id and the marks of others) to p. Returns 0 or -ENOMEM. */
int localcheck_instances(const struct mk_config *cfg, struct preflight *p);
