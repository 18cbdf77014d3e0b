/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The exit codes of the five binaries, in one place. 0, 1, 2 and 130 mean
 * the same everywhere; 3 to 5 mean what the binary's --help and man page
 * say (the numbers are an interface: scripts, systemd units and tests rely
 * on them, so none ever changes):
 *
 *                   3                       4                5
 *   migkit          refused (migrate, check, doctor, swap-volume),
 *                   something pending (status)
 *                                           not installed
 *                                           (status)
 *   migkit-cleanup  refused or partly done  busy
 *   migkit-fcscan   a device missing        nothing can      --remove
 *                   after --wait            make it appear   refused: in use
 *   migkit-hook, migkit-watch: 0, 1, 2 only.
 *
 * Each main() maps its library's result to one of these in one place. */
#pragma once

enum {
        MIGKIT_EXIT_OK = 0,          /* done, or nothing to do */
        MIGKIT_EXIT_FAILED = 1,      /* an error, named in the message (the hook: libvirt
                                        aborts the operation and shows the message) */
        MIGKIT_EXIT_USAGE = 2,       /* bad arguments; nothing was done */
        MIGKIT_EXIT_REFUSED = 3,     /* a check or a safety rule said no; nothing unsafe was done */
        MIGKIT_EXIT_PENDING = 3,     /* migkit status: something is pending */
        MIGKIT_EXIT_NOT_INSTALLED = 4, /* migkit status: no state directory, migkit is not
                                          installed on this host */
        MIGKIT_EXIT_BUSY = 4,        /* migkit-cleanup: another one holds the guest's lock */
        MIGKIT_EXIT_FC_MISSING = 3,  /* migkit-fcscan --wait: a device is still missing */
        MIGKIT_EXIT_FC_NOSCAN = 4,   /* migkit-fcscan: nothing can make a device appear */
        MIGKIT_EXIT_FC_IN_USE = 5,   /* migkit-fcscan --remove: the LUN is in use; nothing removed */
        MIGKIT_EXIT_ABORTED = 130,   /* migkit migrate, evacuate, swap-volume: aborted on
                                        request (Ctrl-C, SIGTERM) */
};
