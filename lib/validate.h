/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Validators for every name the tools use on the host. */
#pragma once

#include <stdbool.h>

/* A libvirt/Nova UUID: 36 characters, 8-4-4-4-12 hex digits. */
bool uuid_is_valid(const char *s);

/* Checks a Linux interface name as migkit accepts it: 1 to 15 bytes of
 * [A-Za-z0-9_.-], not "." or "..". Returns NULL if valid, else a static
 * string saying what is wrong. */
const char *ifname_invalid_reason(const char *s);

/* An absolute path without "." or ".." components, "//", or a trailing '/'
 * (except "/" itself), and without control characters. */
bool path_is_absolute_normalized(const char *s);

/* If path lies strictly below dir (both normalized), returns a pointer to
 * the part after "dir/", else NULL. */
const char *path_below(const char *path, const char *dir);

/* A user or group name (POSIX portable charset) or a decimal id. */
bool name_is_valid_user(const char *s);
