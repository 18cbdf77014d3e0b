/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt secrets a guest's disks name: <auth><secret type='ceph'
 * uuid='...'/> (or usage='...') of network disks (rbd, iscsi) and the
 * <encryption><secret uuid='...'/> of encrypted volumes. A destination
 * without one cannot start QEMU with that disk: the incoming migration
 * fails (and, since the persistent definition travels with --persistent,
 * so does the guest's next cold start there). `migkit check` and `migkit
 * migrate` ask the destination's libvirt for each (secrets_check: FAIL
 * naming the disk and the secret when it is missing or has no value);
 * `migkit doctor` lists those the local guests need (secrets_doctor).
 * A report module: it adds results to a struct preflight (checks.h); a
 * secret's value is read only to learn that it has one, and wiped. */
#pragma once

#include <libvirt/libvirt.h>

#include "checks.h"
#include "domxml.h"

struct dom_secret {
        char *disk;       /* its disk's target ("vdb"), "-" if none */
        char *what;       /* "auth" or "encryption" */
        char *type;       /* the <secret type>: "ceph", "iscsi", "passphrase", ... */
        char *uuid;       /* or NULL */
        char *usage;      /* or NULL */
        char *source;     /* the disk's source for messages ("rbd pool/image", a path) */
};

/* The secrets the disks of d name, in document order. Returns their number
 * (>= 0) with *ret (free with dom_secrets_free), or -ENOMEM. */
int dom_secrets(const struct domxml *d, struct dom_secret **ret);
void dom_secrets_free(struct dom_secret *s, size_t n);

/* For each secret of domain dom (on its source host) whose definitions
 * (live, and persistent when it has one: --persistent carries it) name
 * one: is it defined on dst, and with a value where libvirt lets it be
 * read? One result per secret, named "secret <disk>". live is dom's live
 * definition, parsed. Returns 0 or -ENOMEM. */
int secrets_check(struct preflight *p, virDomainPtr dom, const struct domxml *live, virConnectPtr dst);

/* The secrets the guests of conn (this host) need, one result per secret
 * with the guests and disks that use it and whether it is defined here
 * (every host they may migrate to needs it too). Nothing when no guest
 * needs one. Returns 0 or -ENOMEM. */
int secrets_doctor(struct preflight *p, virConnectPtr conn);
