/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/doctor: every check against a fake host in a temp dir: hooks dir,
 * instances path with a recorded mountinfo, state dir, sysfs (bridges, and
 * the committed FC trees of tests/data/sysfs), /run pid files, a fake /proc
 * (stat, <pid>/stat and comm, net/tcp), /etc/pki, and libvirt's test:///
 * driver with a node file written per test for the local guests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/time.h>

#include <libvirt/virterror.h>

#include "doctor.h"
#include "procfs.h"
#include "testutil.h"
#include "testfs.h"

struct fx {
        char root[64];
        struct mk_config cfg;
        struct doctor_opts o;
        virConnectPtr conn;
        struct preflight p;
};

static void quiet(void *u, virErrorPtr e) { (void)u; (void)e; }

static void sh(const char *fmt, ...) _printf_(1, 2);
static void sh(const char *fmt, ...)
{
        _cleanup_free_ char *cmd = NULL;
        va_list ap;
        va_start(ap, fmt);
        assert_true(vasprintf(&cmd, fmt, ap) >= 0);
        va_end(ap);
        assert_int_equal(system(cmd), 0);
}

static void fput(struct fx *f, const char *rel, const char *fmt, ...) _printf_(3, 4);
static void fput(struct fx *f, const char *rel, const char *fmt, ...)
{
        _cleanup_free_ char *text = NULL, *path = pathf("%s/%s", f->root, rel);
        va_list ap;
        va_start(ap, fmt);
        assert_true(vasprintf(&text, fmt, ap) >= 0);
        va_end(ap);
        _cleanup_free_ char *dir = strdup(path);
        *strrchr(dir, '/') = 0;
        assert_int_equal(mkdir_p(dir, 0755), 0);
        put(path, text);
}

/* A fake process in <root>/proc: comm, and stat with its start time
 * start_offset seconds after the fake boot (btime). */
static void fake_proc(struct fx *f, int pid, const char *comm, long start_offset)
{
        long hz = sysconf(_SC_CLK_TCK);
        char rel[64];
        snprintf(rel, sizeof(rel), "proc/%d/comm", pid);
        fput(f, rel, "%s\n", comm);
        snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
        fput(f, rel, "%d (%s) S 1 %d %d 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 %ld 1000 10\n", pid,
             comm, pid, pid, start_offset * hz);
}

/* The guests of the test:/// node, as <devices> contents per domain. */
static void node(struct fx *f, const char *devices)
{
        _cleanup_free_ char *file = pathf("%s/node.xml", f->root), *uri = pathf("test://%s", file);
        fput(f, "node.xml",
             "<node><cpu><mhz>2000</mhz><model>x86_64</model><nodes>1</nodes><sockets>1</sockets><cores>1</cores>"
             "<threads>1</threads></cpu><memory>8388608</memory>\n"
             "<domain type='test'><name>g1</name><uuid>4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182</uuid>"
             "<memory unit='KiB'>262144</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>"
             "<devices>%s</devices></domain></node>\n",
             devices);
        if (f->conn)
                virConnectClose(f->conn);
        f->conn = virConnectOpen(uri);
        assert_non_null(f->conn);
        f->o.conn = f->conn;
        f->o.conn_uri = "test:///node";
}

#define BRIDGE(b) "<interface type='bridge'><source bridge='" b "'/><mac address='52:54:00:00:00:01'/></interface>"
#define FCDISK(src) "<disk type='block' device='disk'><source dev='" src "'/><target dev='vdb' bus='virtio'/></disk>"
#define BYPATH "/dev/disk/by-path/pci-0000:05:00.0-fc-0x500a098280feeba5-lun-3"

/* Everything in place: each test then breaks one thing. */
static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        assert_non_null(f);
        assert_int_equal(scratch_dir(f->root, sizeof(f->root), "doctor"), 0);
        const char *r = f->root;
        assert_int_equal(config_defaults(&f->cfg), 0);
        set_field(&f->cfg.hooks_dir, "%s/hooks", r);
        set_field(&f->cfg.instances_path, "%s/instances", r);
        set_field(&f->cfg.state_dir, "%s/state", r);
        set_field(&f->cfg.sysfs_root, "%s/sys", r);
        set_field(&f->cfg.run_dir, "%s/run", r);
        set_field(&f->cfg.proc_root, "%s/proc", r);
        set_field(&f->cfg.mountinfo, "%s/mountinfo", r);
        set_field(&f->cfg.migrate_uri, "qemu+tcp://{dest}/system");
        set_field(&f->cfg.file, "%s/migkit.conf", r);

        /* the hook, installed an hour ago */
        sh("mkdir -p %s/hooks/qemu.d %s/bin %s/instances %s/run %s/sys/class/net/qbr1/bridge %s/sys/class/net/eth0 && "
           "printf '#!/bin/sh\\n' > %s/bin/migkit-hook && chmod 755 %s/bin/migkit-hook && "
           "ln -s %s/bin/migkit-hook %s/hooks/qemu.d/50-migkit && touch -h -d '1 hour ago' %s/hooks/qemu.d/50-migkit && "
           "mkdir -m 0700 %s/state",
           r, r, r, r, r, r, r, r, r, r, r, r);
        /* the line of the instances path's mount id, as ext4; this host's id */
        _cleanup_free_ char *mi = pathf("%s/mountinfo", r), *inst = pathf("%s/instances", r);
        fake_mountinfo(mi, inst, "ext4");
        set_field(&f->cfg.libvirt_conf_dir, "%s/no-libvirt", r);
        set_field(&f->cfg.machine_id_file, "%s/machine-id", r);
        fput(f, "machine-id", "0123456789abcdef0123456789abcdef\n");
        /* booted (btime) now: libvirtd pid 100 started 10 s later, the hook is older */
        fput(f, "proc/stat", "cpu  1 2 3 4\nbtime %lld\nprocesses 5\n", (long long)time(NULL));
        fake_proc(f, 100, "libvirtd", 10);
        fake_proc(f, 200, "migkit-watch", 11);
        fake_proc(f, 300, "bash", 12);
        fput(f, "run/libvirtd.pid", "100\n");
        fput(f, "run/migkit-watch.pid", "200\n");
        /* libvirtd on 0.0.0.0:16509 (0x407D), an ssh client connection */
        fput(f, "proc/net/tcp",
             "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
             "   0: 00000000:407D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n"
             "   1: 0100007F:D431 0100007F:0016 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1\n");
        node(f, BRIDGE("qbr1"));
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        preflight_free(&f->p);
        if (f->conn)
                virConnectClose(f->conn);
        config_free(&f->cfg);
        sh("rm -rf %s", f->root);
        free(f);
        return 0;
}

static void run(struct fx *f)
{
        preflight_free(&f->p);
        memset(&f->p, 0, sizeof(f->p));
        assert_int_equal(doctor_run(&f->cfg, &f->o, &f->p), 0);
}

static const struct check_result *find(const struct preflight *p, const char *name)
{
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->v[i].name, name))
                        return &p->v[i];
        return NULL;
}

static void expect(const struct preflight *p, const char *name, int status, const char *needle)
{
        const struct check_result *c = find(p, name);
        if (!c)
                fail_msg("%s: no such check", name);
        if (c->status != status || !strstr(c->message, needle))
                fail_msg("%s: expected %s with \"%s\", got %s: %s", name, check_status_to_string(status), needle,
                         check_status_to_string(c->status), c->message);
        if (status != CHECK_OK && (!c->fix || !*c->fix))
                fail_msg("%s: a %s without a fix", name, check_status_to_string(status));
}

static void test_all_ok(void **state)
{
        struct fx *f = *state;
        run(f);
        for (size_t i = 0; i < f->p.n; i++)
                if (f->p.v[i].status != CHECK_OK)
                        fail_msg("%s: %s: %s", f->p.v[i].name, check_status_to_string(f->p.v[i].status), f->p.v[i].message);
        assert_int_equal(f->p.n_fail, 0);
        assert_int_equal(f->p.n_warn, 0);
        expect(&f->p, "config", CHECK_OK, "migkit.conf is valid");
        expect(&f->p, "hook", CHECK_OK, "qemu.d/50-migkit runs ");
        expect(&f->p, "libvirtd", CHECK_OK, "libvirtd (pid 100) started at");
        expect(&f->p, "libvirt", CHECK_OK, "connected to test:///node");
        expect(&f->p, "instances", CHECK_OK, "/instances is on ext4 (test:/export mounted at ");
        expect(&f->p, "instances", CHECK_OK, "found by statx), a type listed in [filesystems] local: local, so migkit creates");
        expect(&f->p, "marks", CHECK_OK, "this host is 0123456789abcdef0123456789abcdef (");
        expect(&f->p, "marks", CHECK_OK, "/instances carries only its mark (.migkit-host-0123456789abcdef0123456789abcdef)");
        expect(&f->p, "bridges", CHECK_OK, "allow-list qbr*, brq* (creation on); present: qbr1 (1 allowed)");
        expect(&f->p, "state", CHECK_OK, "is writable (mode 0700)");
        expect(&f->p, "watch", CHECK_OK, "migkit-watch runs (pid 200, from ");
        expect(&f->p, "fc", CHECK_OK, "no local guest has FC SAN block disks");
        expect(&f->p, "listen", CHECK_OK, "libvirtd listens on TCP port 16509");
        assert_null(find(&f->p, "multipath"));
        assert_null(find(&f->p, "tls"));
}

static void test_config(void **state)
{
        struct fx *f = *state;
        f->o.config_error = "/etc/migkit/migkit.conf:3: [hook] deadline: 'x' is not a duration";
        run(f);
        expect(&f->p, "config", CHECK_FAIL, "migkit.conf:3: [hook] deadline");
        assert_int_equal(f->p.n_fail, 1);
        f->o.config_error = NULL;
        free(f->cfg.file);
        f->cfg.file = NULL;
        run(f);
        expect(&f->p, "config", CHECK_OK, "the built-in defaults apply");
}

static void test_hook(void **state)
{
        struct fx *f = *state;
        const char *r = f->root;
        /* a link to a hook that is gone */
        sh("rm %s/bin/migkit-hook", r);
        run(f);
        expect(&f->p, "hook", CHECK_FAIL, "50-migkit -> ");
        expect(&f->p, "hook", CHECK_FAIL, "the hook it names does not exist");
        assert_null(find(&f->p, "libvirtd"));
        /* not executable */
        sh("printf x > %s/bin/migkit-hook && chmod 644 %s/bin/migkit-hook", r, r);
        run(f);
        expect(&f->p, "hook", CHECK_FAIL, "is not an executable file");
        /* another hook only */
        sh("rm %s/hooks/qemu.d/50-migkit && printf '#!/bin/sh\\n' > %s/hooks/qemu.d/10-other && chmod 755 %s/hooks/qemu.d/10-other", r, r, r);
        run(f);
        expect(&f->p, "hook", CHECK_FAIL, "runs migkit-hook: incoming migrations get no instance directory");
        /* <hooks>/qemu itself is migkit-hook (older libvirt) */
        sh("chmod 755 %s/bin/migkit-hook && ln -s ../bin/migkit-hook %s/hooks/qemu && touch -h -d '1 hour ago' %s/hooks/qemu", r, r, r);
        run(f);
        expect(&f->p, "hook", CHECK_OK, "hooks/qemu runs ");
}

static void test_libvirtd(void **state)
{
        struct fx *f = *state;
        /* hook installed after libvirtd started: it does not know it */
        sh("touch -h -d '+1 min' %s/hooks/qemu.d/50-migkit", f->root);
        run(f);
        expect(&f->p, "libvirtd", CHECK_WARN, "after libvirtd (pid 100, from ");
        expect(&f->p, "libvirtd", CHECK_WARN, "libvirt finds hooks only when it starts or reloads");
        assert_non_null(strstr(find(&f->p, "libvirtd")->fix, "kill -HUP 100"));
        assert_int_equal(f->p.n_fail, 0);
        /* no pid file, found by its comm in the fake /proc */
        sh("touch -h -d '1 hour ago' %s/hooks/qemu.d/50-migkit && rm %s/run/libvirtd.pid", f->root, f->root);
        run(f);
        expect(&f->p, "libvirtd", CHECK_OK, "libvirtd (pid 100)");
        /* virtqemud's pid file */
        fake_proc(f, 101, "virtqemud", 20);
        fput(f, "run/virtqemud.pid", "101\n");
        run(f);
        expect(&f->p, "libvirtd", CHECK_OK, "(pid 101)");
        /* two daemons and no pid file: cannot tell */
        sh("rm %s/run/virtqemud.pid", f->root);
        run(f);
        expect(&f->p, "libvirtd", CHECK_WARN, "several libvirtd/virtqemud processes");
        /* none; a stale pid file naming another program */
        sh("rm -r %s/proc/100 %s/proc/101", f->root, f->root);
        fput(f, "run/libvirtd.pid", "300\n");
        run(f);
        expect(&f->p, "libvirtd", CHECK_WARN, "no running libvirtd or virtqemud found");
}

static void test_proc_start_time(void **state)
{
        struct fx *f = *state;
        long hz = sysconf(_SC_CLK_TCK);
        time_t t;
        fput(f, "proc/stat", "cpu 1\nbtime 1700000000\n");
        /* a name with spaces and parentheses */
        fput(f, "proc/7/stat", "7 (a) b (c) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %ld 1 1\n", 42 * hz);
        assert_int_equal(proc_start_time(f->cfg.proc_root, 7, &t), 0);
        assert_int_equal((long long)t, 1700000042LL);
        fput(f, "proc/8/stat", "8 (short) S 1 2\n");
        assert_int_equal(proc_start_time(f->cfg.proc_root, 8, &t), -EBADMSG);
        assert_int_equal(proc_start_time(f->cfg.proc_root, 9, &t), -ENOENT);
}

static void test_libvirt(void **state)
{
        struct fx *f = *state;
        f->o.conn = NULL;
        f->o.conn_uri = "qemu:///system";
        f->o.conn_error = "Failed to connect socket to '/run/libvirt/libvirt-sock': No such file or directory";
        run(f);
        expect(&f->p, "libvirt", CHECK_FAIL, "cannot connect to qemu:///system: Failed to connect socket");
        expect(&f->p, "fc", CHECK_WARN, "cannot tell whether local guests use FC SAN disks");
        expect(&f->p, "bridges", CHECK_OK, "local guests not checked (no libvirt)");
        assert_int_equal(f->p.n_fail, 1);
}

static void test_instances(void **state)
{
        struct fx *f = *state;
        const char *r = f->root;
        _cleanup_free_ char *mi = pathf("%s/mountinfo", r), *inst = pathf("%s/instances", r);
        /* on NFS: shared */
        fake_mountinfo(mi, inst, "nfs4");
        run(f);
        expect(&f->p, "instances", CHECK_OK, "/instances is on nfs4 (test:/export mounted at ");
        expect(&f->p, "instances", CHECK_OK, "not a type listed in [filesystems] local: treated as shared: instance "
                                             "directories must exist on every host that runs the guest; migkit neither creates");
        /* another host marked it: on a shared filesystem that is as it should be */
        fput(f, "instances/.migkit-host-bbbbbbbb-0000-4000-8000-00000000000b",
             "migkit-host 1\nid bbbbbbbb-0000-4000-8000-00000000000b\nsource test\nhostname hostB\ntime %lld\n",
             (long long)time(NULL) - 300);
        run(f);
        expect(&f->p, "marks", CHECK_OK, "/instances carries the mark of another host: hostB (id bbbbbbbb-0000-4000-8000-00000000000b, "
                                         "marked 5min ago); that host sees this directory too, so migkit never removes");
        /* on a local type, the same mark is suspect: a share migkit cannot
         * see, or a disk cloned from hostB; doctor says which file to remove */
        fake_mountinfo(mi, inst, "ext4");
        run(f);
        expect(&f->p, "marks", CHECK_WARN, "(its filesystem type is local: a bind-mounted share, a cluster filesystem, or marks "
                                           "copied with a cloned disk)");
        const struct check_result *m = find(&f->p, "marks");
        _cleanup_free_ char *want = pathf("remove %s/instances/.migkit-host-bbbbbbbb-0000-4000-8000-00000000000b", r);
        assert_non_null(strstr(m->fix, want));
        sh("rm %s/instances/.migkit-host-*", r);
        /* reached through a symlinked parent: decided for where it is */
        sh("mkdir %s/real && mv %s/instances %s/real/ && ln -s real %s/link", r, r, r, r);
        set_field(&f->cfg.instances_path, "%s/link/instances", r);
        _cleanup_free_ char *realinst = pathf("%s/real/instances", r);
        fake_mountinfo(mi, realinst, "nfs4");
        run(f);
        expect(&f->p, "instances", CHECK_OK, "/real/instances is on nfs4");
        expect(&f->p, "instances", CHECK_OK, "/link/instances resolves to ");
        sh("rm %s/link && mv %s/real/instances %s/ && rmdir %s/real", r, r, r, r);
        set_field(&f->cfg.instances_path, "%s/instances", r);
        /* the mount table cannot be read */
        sh("rm %s/mountinfo", r);
        run(f);
        expect(&f->p, "instances", CHECK_WARN, "cannot tell which filesystem holds");
        expect(&f->p, "instances", CHECK_WARN, "migkit treats it as shared: it removes nothing there");
        /* a symlink */
        sh("mv %s/instances %s/real && ln -s real %s/instances", r, r, r);
        run(f);
        expect(&f->p, "instances", CHECK_FAIL, "is a symlink to real");
        /* missing */
        sh("rm %s/instances", r);
        run(f);
        expect(&f->p, "instances", CHECK_FAIL, "No such file or directory");
        assert_non_null(strstr(find(&f->p, "instances")->fix, "mkdir -p"));
        /* a file */
        sh("touch %s/instances", r);
        run(f);
        expect(&f->p, "instances", CHECK_FAIL, "is not a directory");
}

static void test_bridges(void **state)
{
        struct fx *f = *state;
        /* a guest's bridge neither here nor allowed */
        node(f, BRIDGE("qbr1") BRIDGE("vlan7"));
        run(f);
        expect(&f->p, "bridges", CHECK_FAIL, "guest g1 uses bridge vlan7, which is not here and not in the allow-list");
        /* here but outside the allow-list: a destination lacking it refuses */
        sh("mkdir -p %s/sys/class/net/vlan7/bridge", f->root);
        run(f);
        expect(&f->p, "bridges", CHECK_WARN, "guest g1 uses bridge vlan7, which is not in the allow-list (qbr*, brq*)");
        assert_int_equal(f->p.n_fail, 0);
        /* allowed but missing: the hook creates it */
        node(f, BRIDGE("qbr2"));
        run(f);
        expect(&f->p, "bridges", CHECK_OK, "every bridge a local guest uses is here or allowed");
        /* ... unless creation is off */
        f->cfg.create_bridges = false;
        run(f);
        expect(&f->p, "bridges", CHECK_FAIL, "bridge creation is off");
        /* creation on, empty allow-list */
        f->cfg.create_bridges = true;
        strv_free(f->cfg.bridge_allow);
        f->cfg.bridge_allow = NULL;
        node(f, "");
        run(f);
        expect(&f->p, "bridges", CHECK_WARN, "the allow-list is empty");
        /* no sysfs */
        set_field(&f->cfg.sysfs_root, "%s/nosys", f->root);
        run(f);
        expect(&f->p, "bridges", CHECK_WARN, "cannot list the bridges");
}

static void test_state(void **state)
{
        struct fx *f = *state;
        sh("chmod 0777 %s/state", f->root);
        run(f);
        expect(&f->p, "state", CHECK_WARN, "is writable by others (mode 0777)");
        sh("rmdir %s/state", f->root);
        run(f);
        expect(&f->p, "state", CHECK_FAIL, "No such file or directory: migkit is not installed on this host; no journal can be written");
        sh("touch %s/state", f->root);
        run(f);
        expect(&f->p, "state", CHECK_FAIL, "is not a directory");
}

static void test_watch(void **state)
{
        struct fx *f = *state;
        /* no pid file: found in /proc */
        sh("rm %s/run/migkit-watch.pid", f->root);
        run(f);
        expect(&f->p, "watch", CHECK_OK, "migkit-watch runs (pid 200, from process list)");
        /* two of them */
        fake_proc(f, 201, "migkit-watch", 30);
        run(f);
        expect(&f->p, "watch", CHECK_WARN, "several migkit-watch processes");
        /* none, and a stale pid file */
        sh("rm -r %s/proc/200 %s/proc/201", f->root, f->root);
        fput(f, "run/migkit-watch.pid", "200\n");
        run(f);
        expect(&f->p, "watch", CHECK_FAIL, "migkit-watch is not running");
        assert_non_null(strstr(find(&f->p, "watch")->fix, "systemctl enable --now migkit-watch"));
}

static void test_fc(void **state)
{
        struct fx *f = *state;
        node(f, FCDISK(BYPATH));
        /* no FC HBA */
        set_field(&f->cfg.sysfs_root, "%s/tests/data/sysfs/no-fc", getenv("PWD") ? getenv("PWD") : ".");
        run(f);
        expect(&f->p, "fc", CHECK_FAIL, "1 FC disk in use (guest g1 disk vdb: " BYPATH ") but no FC HBA");
        assert_null(find(&f->p, "multipath"));
        /* one HBA of two is down */
        set_field(&f->cfg.sysfs_root, "tests/data/sysfs/offline");
        run(f);
        expect(&f->p, "fc", CHECK_WARN, "not every FC HBA is online");
        expect(&f->p, "fc", CHECK_WARN, "Linkdown");
        /* both online */
        set_field(&f->cfg.sysfs_root, "tests/data/sysfs/two-hbas");
        run(f);
        expect(&f->p, "fc", CHECK_OK, "1 FC disk in use; HBAs host5 ");
        /* no sysfs at all: no HBA either */
        set_field(&f->cfg.sysfs_root, "%s/nosys", f->root);
        run(f);
        expect(&f->p, "fc", CHECK_FAIL, "nosys/class/fc_host: their LUNs cannot be found");
}

static void test_multipath(void **state)
{
        struct fx *f = *state;
        set_field(&f->cfg.sysfs_root, "tests/data/sysfs/two-hbas");
        node(f, FCDISK("/dev/mapper/3600a098038303053453f463045727a41"));
        set_field(&f->cfg.fc_libmpathcmd, "%s/no-such-libmpathcmd.so.0", f->root);
        run(f);
        expect(&f->p, "multipath", CHECK_FAIL, "needs a multipath map, but");
        expect(&f->p, "multipath", CHECK_FAIL, "cannot be loaded");
        assert_non_null(strstr(find(&f->p, "multipath")->fix, "multipath-tools"));
        f->cfg.fc_multipath = FC_MULTIPATH_NO;
        run(f);
        expect(&f->p, "multipath", CHECK_WARN, "[fc] multipath = no");
        /* a by-path disk needs no map (auto) */
        f->cfg.fc_multipath = FC_MULTIPATH_AUTO;
        node(f, FCDISK(BYPATH));
        run(f);
        assert_null(find(&f->p, "multipath"));
        f->cfg.fc_multipath = FC_MULTIPATH_YES;
        run(f);
        expect(&f->p, "multipath", CHECK_FAIL, "cannot be loaded");
}

static void test_tls_listen(void **state)
{
        struct fx *f = *state;
        const char *r = f->root;
        _cleanup_free_ char *pki = pathf("%s/pki", r);
        f->o.pki_root = pki;
        set_field(&f->cfg.migrate_uri, "qemu+tls://{dest}/system");
        run(f);
        expect(&f->p, "tls", CHECK_FAIL, "pki/etc/pki/CA/cacert.pem");
        expect(&f->p, "tls", CHECK_FAIL, "private/serverkey.pem");
        expect(&f->p, "listen", CHECK_FAIL, "nothing listens on TCP port 16514");
        assert_non_null(strstr(find(&f->p, "listen")->fix, "libvirtd-tls.socket"));
        sh("mkdir -p %s/etc/pki/CA %s/etc/pki/libvirt/private && touch %s/etc/pki/CA/cacert.pem "
           "%s/etc/pki/libvirt/servercert.pem %s/etc/pki/libvirt/private/serverkey.pem %s/etc/pki/libvirt/clientcert.pem "
           "%s/etc/pki/libvirt/private/clientkey.pem",
           pki, pki, pki, pki, pki, pki, pki);
        /* TLS on ::1 only (tcp6) */
        fput(f, "proc/net/tcp6",
             "  sl  local_address                         remote_address                        st\n"
             "   0: 00000000000000000000000001000000:4082 00000000000000000000000000000000:0000 0A 0\n");
        run(f);
        expect(&f->p, "tls", CHECK_OK, "certificates and keys are in place");
        expect(&f->p, "listen", CHECK_WARN, "only on the loopback address");
        /* an explicit port */
        set_field(&f->cfg.migrate_uri, "qemu+tcp://{dest}:16510/system");
        run(f);
        expect(&f->p, "listen", CHECK_FAIL, "nothing listens on TCP port 16510");
        assert_null(find(&f->p, "tls"));
        /* ssh: sshd's port */
        set_field(&f->cfg.migrate_uri, "qemu+ssh://{dest}/system");
        run(f);
        expect(&f->p, "listen", CHECK_FAIL, "nothing listens on TCP port 22");
        /* a local transport cannot be checked */
        set_field(&f->cfg.migrate_uri, "qemu+unix:///system");
        run(f);
        expect(&f->p, "listen", CHECK_WARN, "transport unix cannot be checked");
        /* no /proc/net */
        set_field(&f->cfg.migrate_uri, "qemu+tcp://{dest}/system");
        sh("rm -r %s/proc/net", r);
        run(f);
        expect(&f->p, "listen", CHECK_WARN, "cannot tell whether libvirtd listens on TCP port 16509");
}

static char *print(const struct preflight *p, int json, int flags)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        assert_non_null(m);
        if (json)
                doctor_print_json(p, m, "host \"b\"");
        else
                doctor_print(p, m, flags);
        fclose(m);
        return buf;
}

static void test_print(void **state)
{
        struct fx *f = *state;
        run(f);
        _cleanup_free_ char *all = print(&f->p, 0, 0), *q = print(&f->p, 0, DOCTOR_QUIET);
        assert_non_null(strstr(all, "OK    hook: "));
        assert_non_null(strstr(all, "ready for migrations in and out (0 warnings)\n"));
        assert_null(strstr(all, "fix:"));
        assert_string_equal(q, "");
        sh("rm %s/run/migkit-watch.pid && rm -r %s/proc/200", f->root, f->root);
        run(f);
        _cleanup_free_ char *q2 = print(&f->p, 0, DOCTOR_QUIET), *j = print(&f->p, 1, 0);
        assert_non_null(strstr(q2, "FAIL  watch: migkit-watch is not running"));
        assert_non_null(strstr(q2, "\n      fix: systemctl enable --now migkit-watch\n"));
        assert_null(strstr(q2, "OK "));
        assert_non_null(strstr(q2, "not ready: 1 failed, 0 warnings\n"));
        assert_non_null(strstr(j, "{\"host\":\"host \\\"b\\\"\",\"ready\":false,\"failed\":1,\"warnings\":0,\"checks\":[{\"check\":\"config\",\"status\":\"OK\","));
        assert_non_null(strstr(j, "{\"check\":\"watch\",\"status\":\"FAIL\",\"message\":\"migkit-watch is not running"));
        assert_non_null(strstr(j, "\"fix\":\"systemctl enable --now migkit-watch\"}"));
        assert_non_null(strstr(j, "\"fix\":null}"));
        assert_int_equal(j[strlen(j) - 1], '\n');
}

int main(void)
{
        virSetErrorFunc(NULL, quiet);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_all_ok, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hook, setup, teardown),
                cmocka_unit_test_setup_teardown(test_libvirtd, setup, teardown),
                cmocka_unit_test_setup_teardown(test_proc_start_time, setup, teardown),
                cmocka_unit_test_setup_teardown(test_libvirt, setup, teardown),
                cmocka_unit_test_setup_teardown(test_instances, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bridges, setup, teardown),
                cmocka_unit_test_setup_teardown(test_state, setup, teardown),
                cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fc, setup, teardown),
                cmocka_unit_test_setup_teardown(test_multipath, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tls_listen, setup, teardown),
                cmocka_unit_test_setup_teardown(test_print, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
