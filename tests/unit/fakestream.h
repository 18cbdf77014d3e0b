/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A fake of the storage-volume streams for tests against libvirt's test
 * driver, whose volumes hold no bytes (link with -Wl,--wrap= for each
 * __wrap_ function below): an upload keeps the bytes sent per volume name
 * in memory, a download sends them back; fs.damage flips a byte of the
 * next upload. Include after <cmocka.h>; memset(&fs, 0, sizeof(fs)) before
 * each test, fake_streams_free() after. */
#pragma once

#include <libvirt/libvirt.h>

#include "util.h"

static struct {
        char name[256];          /* the volume of the stream under way */
        bool upload;             /* sending (else receiving) */
        char *bytes[8];          /* per volume name below */
        size_t len[8];
        char names[8][256];
        size_t nvol, rpos;
        bool damage;             /* flip a byte of the next upload */
        int uploads;
} fs;

static inline int vol_slot(const char *name)
{
        for (size_t i = 0; i < fs.nvol; i++)
                if (streq(fs.names[i], name))
                        return (int)i;
        assert_true(fs.nvol < 8);
        size_t l = strlen(name);
        assert_true(l < sizeof(fs.names[0]));
        memcpy(fs.names[fs.nvol], name, l + 1);
        return (int)fs.nvol++;
}

int __wrap_virStorageVolUpload(virStorageVolPtr, virStreamPtr, unsigned long long, unsigned long long, unsigned);
int __wrap_virStorageVolDownload(virStorageVolPtr, virStreamPtr, unsigned long long, unsigned long long, unsigned);
int __wrap_virStreamSend(virStreamPtr, const char *, size_t);
int __wrap_virStreamRecv(virStreamPtr, char *, size_t);
int __wrap_virStreamFinish(virStreamPtr);
int __wrap_virStreamAbort(virStreamPtr);

int __wrap_virStorageVolUpload(virStorageVolPtr v, virStreamPtr st, unsigned long long off, unsigned long long len, unsigned flags)
{
        int i = vol_slot(virStorageVolGetName(v));
        snprintf(fs.name, sizeof(fs.name), "%s", virStorageVolGetName(v));
        fs.upload = true;
        fs.uploads++;
        free(fs.bytes[i]);
        fs.bytes[i] = NULL;
        fs.len[i] = 0;
        return 0;
}

int __wrap_virStorageVolDownload(virStorageVolPtr v, virStreamPtr st, unsigned long long off, unsigned long long len, unsigned flags)
{
        vol_slot(virStorageVolGetName(v));
        snprintf(fs.name, sizeof(fs.name), "%s", virStorageVolGetName(v));
        fs.upload = false;
        fs.rpos = 0;
        return 0;
}

int __wrap_virStreamSend(virStreamPtr st, const char *data, size_t n)
{
        int i = vol_slot(fs.name);
        assert_true(fs.upload);
        fs.bytes[i] = realloc(fs.bytes[i], fs.len[i] + n);
        assert_non_null(fs.bytes[i]);
        memcpy(fs.bytes[i] + fs.len[i], data, n);
        if (fs.damage && fs.len[i] == 0)
                fs.bytes[i][0] ^= 1;
        fs.len[i] += n;
        return (int)n;
}

int __wrap_virStreamRecv(virStreamPtr st, char *data, size_t n)
{
        int i = vol_slot(fs.name);
        assert_false(fs.upload);
        size_t k = fs.len[i] - fs.rpos < n ? fs.len[i] - fs.rpos : n;
        memcpy(data, fs.bytes[i] + fs.rpos, k);
        fs.rpos += k;
        return (int)k;
}

int __wrap_virStreamFinish(virStreamPtr st)
{
        fs.damage = false;
        return 0;
}

int __wrap_virStreamAbort(virStreamPtr st)
{
        return 0;
}

static inline void fake_streams_free(void)
{
        for (size_t i = 0; i < fs.nvol; i++)
                free(fs.bytes[i]);
        memset(&fs, 0, sizeof(fs));
}

/* The bytes the destination holds for a volume. */
static inline const char *dest_bytes(const char *name, size_t *len)
{
        int i = vol_slot(name);
        *len = fs.len[i];
        return fs.bytes[i];
}

/* True if pool has a volume of that name. */
static inline bool pool_has_volume(virStoragePoolPtr pool, const char *name)
{
        virStorageVolPtr v = virStorageVolLookupByName(pool, name);
        if (v)
                virStorageVolFree(v);
        return v != NULL;
}
