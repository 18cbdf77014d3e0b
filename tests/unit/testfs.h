/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Filesystem helpers for the tests of the local/shared decision; include
 * after <cmocka.h> and testutil.h. */
#pragma once

#include <stdio.h>

#include "mountinfo.h"

/* Writes a mountinfo file at file whose only line is the mount holding
 * path, with the real mount id (what the code under test looks up) but
 * the given type and source: a recorded mount table that says path is on,
 * say, cephfs or a type nobody has heard of. */
static inline void fake_mountinfo(const char *file, const char *path, const char *fstype)
{
        int fd = open(path, O_PATH | O_CLOEXEC);
        uint64_t id;
        assert_true(fd >= 0);
        assert_true(mount_id_at(fd, "", &id) > 0);
        close(fd);
        char *text = pathf("%llu 1 0:99 / %s rw,relatime - %s test:/export rw\n", (unsigned long long)id, path, fstype);
        put(file, text);
        free(text);
}
