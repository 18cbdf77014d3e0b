/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host marks (hostmark.h) and the proof that a directory is this host's
 * alone (instdir_prove_local), on real directories: this host's id from a
 * libvirt config or the machine id, marks written only when stale, another
 * host's mark in the instances path or in the guest's directory refusing a
 * quarantine, a mark copied from a cloned root refusing too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "config.h"
#include "hostmark.h"
#include "instdir.h"
#include "quarantine.h"
#include "util.h"
#include "testutil.h"

#define UUID "4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182"
#define HOST_A "aaaaaaaa-0000-4000-8000-00000000000a"
#define HOST_B "bbbbbbbb-0000-4000-8000-00000000000b"
#define MACHINE "0123456789abcdef0123456789abcdef"

struct fixture {
        char root[64];
        char *inst, *dir, *libvirt, *machine;
        struct mk_config cfg;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        if (!f || scratch_dir(f->root, sizeof(f->root), "hostmark") < 0 || config_defaults(&f->cfg) < 0)
                return -1;
        f->inst = pathf("%s/instances", f->root);
        f->dir = pathf("%s/%s", f->inst, UUID);
        f->libvirt = pathf("%s/libvirt", f->root);
        f->machine = pathf("%s/machine-id", f->root);
        set_field(&f->cfg.instances_path, "%s", f->inst);
        set_field(&f->cfg.libvirt_conf_dir, "%s", f->libvirt);
        set_field(&f->cfg.machine_id_file, "%s", f->machine);
        if (mkdir(f->inst, 0755) < 0 || mkdir(f->dir, 0755) < 0 || mkdir(f->libvirt, 0755) < 0)
                return -1;
        put(f->machine, MACHINE "\n");
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        int r = rm_tree(f->root);
        config_free(&f->cfg);
        free(f->inst);
        free(f->dir);
        free(f->libvirt);
        free(f->machine);
        free(f);
        return r;
}

static void set_host_uuid(struct fixture *f, const char *file, const char *text)
{
        _cleanup_free_ char *p = pathf("%s/%s", f->libvirt, file);
        put(p, text);
}

static void test_host_id(void **state)
{
        struct fixture *f = *state;
        struct host_id id;

        /* no libvirt host_uuid: the machine id */
        assert_int_equal(host_id_get(&f->cfg, &id), 0);
        assert_string_equal(id.id, MACHINE);
        assert_string_equal(id.source, f->machine);

        /* commented out, or not a UUID: still the machine id */
        set_host_uuid(f, "libvirtd.conf", "#host_uuid = \"" HOST_A "\"\nhost_uuid = \"not-a-uuid\"\n");
        assert_int_equal(host_id_get(&f->cfg, &id), 0);
        assert_string_equal(id.id, MACHINE);

        /* virtqemud.conf, then libvirtd.conf first; upper case folded */
        set_host_uuid(f, "virtqemud.conf", "host_uuid=\"" HOST_B "\"\n");
        assert_int_equal(host_id_get(&f->cfg, &id), 0);
        assert_string_equal(id.id, HOST_B);
        set_host_uuid(f, "libvirtd.conf", "listen_tcp = 1\n  host_uuid   =  \"AAAAAAAA-0000-4000-8000-00000000000A\"  # lab\n");
        assert_int_equal(host_id_get(&f->cfg, &id), 0);
        assert_string_equal(id.id, HOST_A);
        _cleanup_free_ char *src = pathf("host_uuid in %s/libvirtd.conf", f->libvirt);
        assert_string_equal(id.source, src);

        /* neither: no id */
        _cleanup_free_ char *rm = pathf("rm %s/*.conf %s", f->libvirt, f->machine);
        assert_int_equal(system(rm), 0);
        assert_int_equal(host_id_get(&f->cfg, &id), -ENODATA);
        put(f->machine, "uninitialized\n");
        assert_int_equal(host_id_get(&f->cfg, &id), -ENODATA);
}

static time_t mtime(const char *path)
{
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        return st.st_mtime;
}

static void test_touch_and_list(void **state)
{
        struct fixture *f = *state;
        struct host_id self = { .id = HOST_A, .source = "test" }, other = { .id = HOST_B, .source = "test" };
        _cleanup_free_ char *mark = pathf("%s/" HOSTMARK_PREFIX HOST_A, f->inst), *text = NULL;
        time_t now = time(NULL);

        assert_int_equal(hostmark_touch_root(&f->cfg, &self, now), 1);
        assert_true(read_full_file(mark, 4096, &text) > 0);
        assert_non_null(strstr(text, "migkit-host 1\nid " HOST_A "\nsource test\nhostname "));
        struct stat st;
        assert_int_equal(stat(mark, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);

        /* fresh: not written again (no write per hook call) */
        struct timespec old[2] = { { .tv_sec = now - 60 }, { .tv_sec = now - 60 } };
        assert_int_equal(utimensat(AT_FDCWD, mark, old, 0), 0);
        assert_int_equal(hostmark_touch_root(&f->cfg, &self, now), 0);
        assert_int_equal(mtime(mark), now - 60);
        /* stale: written again */
        old[0].tv_sec = old[1].tv_sec = now - HOSTMARK_REFRESH_S - 1;
        assert_int_equal(utimensat(AT_FDCWD, mark, old, 0), 0);
        assert_int_equal(hostmark_touch_root(&f->cfg, &self, now), 1);
        assert_true(mtime(mark) >= now - 1);

        /* the guest's directory when it exists, else the root */
        assert_int_equal(hostmark_touch_guest(&f->cfg, &other, UUID, now), 1);
        _cleanup_free_ char *gm = pathf("%s/" HOSTMARK_PREFIX HOST_B, f->dir), *rm2 = pathf("%s/" HOSTMARK_PREFIX HOST_B, f->inst);
        assert_true(exists(gm));
        assert_false(exists(rm2));
        assert_int_equal(hostmark_touch_guest(&f->cfg, &other, "0f0e0d0c-0b0a-4998-8776-655443322110", now), 1);
        assert_true(exists(rm2));
        assert_int_equal(hostmark_touch_guest(&f->cfg, &other, "../x", now), -EINVAL);

        /* a temporary file of a writer is not a mark */
        _cleanup_free_ char *tmp = pathf("%s/" HOSTMARK_PREFIX HOST_B ".tmp.123", f->dir);
        put(tmp, "x");
        struct hostmark *l;
        _cleanup_close_ int fd = open(f->inst, O_RDONLY | O_DIRECTORY);
        int n = hostmark_list(fd, &self, &l);
        assert_int_equal(n, 2);
        assert_string_equal(l[0].id, HOST_A);
        assert_true(l[0].self);
        assert_string_equal(l[1].id, HOST_B);
        assert_false(l[1].self);
        assert_non_null(l[1].hostname);
        assert_true(l[1].time >= now - 1);
        hostmark_list_free(l, n);
        struct hostmark m;
        assert_int_equal(hostmark_foreign(fd, &self, &m), 1);
        assert_string_equal(m.id, HOST_B);
        char buf[256];
        assert_non_null(strstr(hostmark_describe(&m, now, buf, sizeof(buf)), "(id " HOST_B ", marked 0s ago)"));
        hostmark_done(&m);
        assert_int_equal(hostmark_foreign(fd, &other, &m), 1); /* A's mark, seen from B */
        assert_string_equal(m.id, HOST_A);
        hostmark_done(&m);
        _cleanup_close_ int gfd = open(f->dir, O_RDONLY | O_DIRECTORY);
        assert_int_equal(hostmark_foreign(gfd, &other, &m), 0); /* only B's own mark (and B's temporary file) */
        /* this host's id unknown: every mark is another host's */
        assert_int_equal(hostmark_foreign(gfd, NULL, &m), 1);
        hostmark_done(&m);
}

/* What the cleanups check before moving anything: another host's mark in
 * the instances path or in the guest's directory refuses, naming the host
 * and the file; this host's own marks do not. */
static void test_prove_local(void **state)
{
        struct fixture *f = *state;
        struct host_id self, other = { .id = HOST_B, .source = "test" };
        _cleanup_free_ char *detail = NULL, *path = NULL;
        time_t now = time(NULL);

        assert_int_equal(host_id_get(&f->cfg, &self), 0);
        assert_int_equal(hostmark_touch_root(&f->cfg, &self, now), 1);
        assert_int_equal(hostmark_touch_guest(&f->cfg, &self, UUID, now), 1);
        assert_int_equal(quarantine_dir(&f->cfg, UUID, "x", NULL, QUARANTINE_DRY_RUN, NULL, &detail), 1);

        /* the destination marked the guest's directory: it sees it too */
        assert_int_equal(hostmark_touch_guest(&f->cfg, &other, UUID, now), 1);
        assert_int_equal(quarantine_dir(&f->cfg, UUID, "x", NULL, 0, NULL, &detail), -EREMOTE);
        assert_non_null(detail);
        _cleanup_free_ char *want = pathf("%s carries the mark of another host, ", f->dir);
        assert_non_null(strstr(detail, want));
        assert_non_null(strstr(detail, "(id " HOST_B ", marked "));
        _cleanup_free_ char *rmhint = pathf("remove %s/" HOSTMARK_PREFIX HOST_B, f->dir);
        assert_non_null(strstr(detail, rmhint));
        assert_true(exists(f->dir));
        _cleanup_free_ char *gm = pathf("%s/" HOSTMARK_PREFIX HOST_B, f->dir);
        assert_int_equal(unlink(gm), 0);

        /* another host marked the instances path: nothing below it goes,
         * and no purge runs there */
        _cleanup_free_ char *rm = pathf("%s/" HOSTMARK_PREFIX HOST_B, f->inst);
        put(rm, "garbage, not even the format");
        free(detail);
        detail = NULL;
        assert_int_equal(quarantine_dir(&f->cfg, UUID, "x", NULL, 0, NULL, &detail), -EREMOTE);
        want = (free(want), pathf("%s carries the mark of another host, an unknown host (id " HOST_B ", marked ", f->inst));
        assert_non_null(strstr(detail, want));
        assert_int_equal(quarantine_purge(&f->cfg, 0, now, false, NULL, NULL, NULL), -EREMOTE);
        assert_true(exists(f->dir));

        /* this host's id changed (or the root was cloned from another host):
         * its former mark is another host's now: refused, never guessed */
        assert_int_equal(unlink(rm), 0);
        assert_int_equal(quarantine_dir(&f->cfg, UUID, "x", NULL, QUARANTINE_DRY_RUN, NULL, NULL), 1);
        set_host_uuid(f, "libvirtd.conf", "host_uuid = \"" HOST_A "\"\n");
        assert_int_equal(quarantine_dir(&f->cfg, UUID, "x", NULL, 0, &path, NULL), -EREMOTE);
        _cleanup_free_ char *old = pathf("%s/" HOSTMARK_PREFIX MACHINE, f->inst), *old2 = pathf("%s/" HOSTMARK_PREFIX MACHINE, f->dir);
        assert_int_equal(unlink(old), 0);
        assert_int_equal(unlink(old2), 0);
        assert_int_equal(quarantine_dir(&f->cfg, UUID, "x", NULL, 0, &path, NULL), 1);
        assert_false(exists(f->dir));
}

/* Two hosts with one id (a cloned machine id): a mark with this host's id
 * but another host name is not this host's. */
static void test_same_id_other_host(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *mark = pathf("%s/" HOSTMARK_PREFIX MACHINE, f->dir), *detail = NULL;
        put(mark, "migkit-host 1\nid " MACHINE "\nsource /etc/machine-id\nhostname its-twin\ntime 1\n");
        assert_int_equal(quarantine_dir(&f->cfg, UUID, "x", NULL, 0, NULL, &detail), -EREMOTE);
        assert_non_null(strstr(detail, "carries the mark of another host, its-twin (id " MACHINE ", marked "));
        assert_true(exists(f->dir));
        /* this host's own mark of that id is fine */
        struct host_id self;
        assert_int_equal(host_id_get(&f->cfg, &self), 0);
        assert_int_equal(unlink(mark), 0);
        assert_int_equal(hostmark_touch_guest(&f->cfg, &self, UUID, time(NULL)), 1);
        assert_int_equal(quarantine_dir(&f->cfg, UUID, "x", NULL, QUARANTINE_DRY_RUN, NULL, NULL), 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_host_id, setup, teardown),
                cmocka_unit_test_setup_teardown(test_touch_and_list, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prove_local, setup, teardown),
                cmocka_unit_test_setup_teardown(test_same_id_other_host, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
