# A fake multipathd for the sh tests (tests/sh/lib.sh: fake_multipathd):
# listens on multipathd's abstract socket (the test's private network
# namespace gives it one of its own) and speaks libmpathcmd's framing (a
# size_t length, then the command with its NUL; the same for the reply).
#   python3 fake-multipathd.py MODE LOG DEV READY [SYSFS]
# MODE ok: replies "ok"; fail-then-ok: "fail" to the first command, then
# "ok"; hang: accepts and never replies. Every command is appended to LOG
# ("BAD FRAMING " first when the NUL is missing or misplaced). On "ok" to
# "add map WWID", makes what udev would for the new dm-3 below DEV. READY
# is created once it listens.
#
# With SYSFS (a copy of a tree of tests/data/sysfs) it also plays the
# kernel and udev for that tree, so the exact writes and requests of a LUN
# removal (or of a scan) can be asserted, in order, in LOG:
#  - at start, udev's coldplug: DEV/sdX, its by-path and by-id links, and
#    DEV/dm-N, DEV/mapper/<name> and the by-id links of every map;
#  - every SCSI device's device/delete and every scsi_host/hostN/scan
#    becomes a FIFO that it reads: "write <H:C:T:L> delete <data>" or
#    "write hostN scan <data>" goes to LOG; a delete removes the device as
#    the kernel does (sysfs entries, its target when it was the last LUN)
#    and its DEV node and links as udev does, except for the H:C:T:L in
#    $FAKE_STUCK (the write succeeds, the device stays); a scan "C T L"
#    ("-" matches anything) brings back the devices of $FAKE_HIDDEN it
#    matches (hidden at start: a destination before the scan);
#  - "del map NAME" removes the map and its kpartx partition maps (dm uuid
#    part<N>-mpath-<wwid>) from SYSFS and DEV, or replies "fail" when
#    anything else holds it (multipathd's "map in use"); "del path sdX"
#    takes the path out of its map; "add map WWID" makes a map dm-N over
#    the paths with that WWID.
import os
import re
import shutil
import socket
import struct
import sys
import threading

mode, log, dev, ready = sys.argv[1:5]
sysfs = sys.argv[5] if len(sys.argv) > 5 else None
lock = threading.Lock()


def say(line):
    with lock, open(log, "a") as f:
        f.write(line + "\n")


def rd(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def rel_link(target, link):
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(os.path.relpath(target, os.path.dirname(link)), link)


def rm(path):
    if os.path.islink(path) or os.path.isfile(path) or (os.path.exists(path) and not os.path.isdir(path)):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


# ---- udev's side: /dev -------------------------------------------------------

def udev_wwid(sys_wwid):
    t = {"naa.": "3", "eui.": "2", "t10.": "1"}.get(sys_wwid[:4])
    return t + sys_wwid[4:].lower() if t else None


def by_path(lundir):
    """pci-<pci>-fc-<target port_name>-lun-<L> (udev's path_id)"""
    parts = os.path.realpath(lundir).split("/")
    h, c, t, l = parts[-1].split(":")
    pci = [p for p in parts if re.fullmatch(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]", p)][-1]
    port = rd(os.path.join(sysfs, "class/fc_transport/target%s:%s:%s/port_name" % (h, c, t)))
    return "pci-%s-fc-%s-lun-%s" % (pci, port, l)


def udev_add_disk(lundir, disk):
    open(os.path.join(dev, disk), "w").close()
    rel_link(os.path.join(dev, disk), os.path.join(dev, "disk/by-path", by_path(lundir)))
    w = udev_wwid(rd(os.path.join(lundir, "wwid")))
    if w:
        rel_link(os.path.join(dev, disk), os.path.join(dev, "disk/by-id/scsi-" + w))


def udev_add_map(dm):
    d = os.path.join(sysfs, "block", dm, "dm")
    name, uuid = rd(os.path.join(d, "name")), rd(os.path.join(d, "uuid"))
    open(os.path.join(dev, dm), "w").close()
    for link in ("mapper/" + name, "disk/by-id/dm-name-" + name, "disk/by-id/dm-uuid-" + uuid):
        rel_link(os.path.join(dev, dm), os.path.join(dev, link))


def udev_remove(node):
    """the node and every link below DEV that points at it"""
    target = os.path.join(dev, node)
    for root, _, files in os.walk(dev):
        for f in files:
            p = os.path.join(root, f)
            if os.path.islink(p) and os.path.realpath(p) == os.path.realpath(target):
                os.unlink(p)
    if os.path.lexists(target):
        os.unlink(target)


# ---- the kernel's side: sysfs ------------------------------------------------

hidden = {}   # H:C:T:L -> (where the LUN directory went, where it belongs)
stuck = set(os.environ.get("FAKE_STUCK", "").split())


def lun_dir(hctl):
    return os.path.realpath(os.path.join(sysfs, "class/scsi_device", hctl, "device"))


def disk_of(lundir):
    b = os.path.join(lundir, "block")
    return sorted(os.listdir(b))[0] if os.path.isdir(b) else None


def unlink_holders(disk):
    """drops the holders/slaves links between disk and the maps over it"""
    hd = os.path.join(sysfs, "block", disk, "holders")
    for h in os.listdir(hd) if os.path.isdir(hd) else []:
        rm(os.path.join(sysfs, "block", h, "slaves", disk))
        rm(os.path.join(hd, h))


def take_out(hctl, stash=None):
    """removes a SCSI device from sysfs (and DEV); with stash, keeps it there"""
    ld = lun_dir(hctl)
    disk = disk_of(ld)
    if disk:
        unlink_holders(disk)
        rm(os.path.join(sysfs, "block", disk))
        udev_remove(disk)
    rm(os.path.join(sysfs, "class/scsi_device", hctl))
    if stash:
        hidden[hctl] = (stash, ld)
        shutil.move(ld, stash)
        return
    td = os.path.dirname(ld)
    rm(ld)
    if not [e for e in os.listdir(td) if re.fullmatch(r"\d+:\d+:\d+:\d+", e)]:
        rm(os.path.join(sysfs, "class/fc_transport", os.path.basename(td)))
        rm(td)


def bring_back(hctls):
    """a scan's devices: all in sysfs first (the write returns after the
    scan), then udev's nodes and links"""
    for hctl in hctls:
        stash, ld = hidden.pop(hctl)
        shutil.move(stash, ld)
        rel_link(os.path.join(ld, "scsi_device", hctl), os.path.join(sysfs, "class/scsi_device", hctl))
        disk = disk_of(ld)
        if disk:
            rel_link(os.path.join(ld, "block", disk), os.path.join(sysfs, "block", disk))
        serve_delete(hctl)
    for hctl in hctls:
        ld = lun_dir(hctl)
        if disk_of(ld):
            udev_add_disk(ld, disk_of(ld))


def serve(fifo, on_write):
    """replaces a write-only attribute with a FIFO, and reads it"""
    rm(fifo)
    os.mkfifo(fifo)

    def loop():
        while os.path.exists(fifo):
            with open(fifo) as f:  # blocks until a writer opens it
                data = f.read()
            if on_write(data) is False:
                return
    threading.Thread(target=loop, daemon=True).start()


def serve_delete(hctl):
    def deleted(data):
        say("write %s delete %s" % (hctl, "/".join(data.splitlines())))
        if hctl in stuck:
            return True
        with lock:
            take_out(hctl)
        return False
    serve(os.path.join(lun_dir(hctl), "delete"), deleted)


def serve_scan(host, path):
    def scanned(data):
        # a second write may come before this reader saw the end of the first
        for line in data.splitlines():
            say("write %s scan %s" % (host, line))
            want = line.split()
            with lock:
                bring_back([hctl for hctl in sorted(hidden) if host == "host" + hctl.split(":")[0] and
                            all(w in ("-", v) for w, v in zip(want, hctl.split(":")[1:]))])
        return True
    serve(path, scanned)


def dms():
    b = os.path.join(sysfs, "block")
    return sorted(e for e in os.listdir(b) if e.startswith("dm-"))


def dm_attr(dm, a):
    return rd(os.path.join(sysfs, "block", dm, "dm", a))


def remove_dm(dm):
    sd = os.path.join(sysfs, "block", dm, "slaves")
    for s in os.listdir(sd) if os.path.isdir(sd) else []:
        rm(os.path.join(sysfs, "block", s, "holders", dm))
    rm(os.path.realpath(os.path.join(sysfs, "block", dm)))
    rm(os.path.join(sysfs, "block", dm))
    udev_remove(dm)


def del_map(name):
    for dm in dms():
        if dm_attr(dm, "name") != name or not dm_attr(dm, "uuid").startswith("mpath-"):
            continue
        wwid = dm_attr(dm, "uuid")[6:]
        hd = os.path.join(sysfs, "block", dm, "holders")
        holders = os.listdir(hd) if os.path.isdir(hd) else []
        parts = [h for h in holders if re.fullmatch(r"part\d+-mpath-" + re.escape(wwid), dm_attr(h, "uuid"))]
        inner = [h for p in parts for h in (os.listdir(os.path.join(sysfs, "block", p, "holders"))
                                              if os.path.isdir(os.path.join(sysfs, "block", p, "holders")) else [])]
        if len(parts) != len(holders) or inner:
            return "fail\n"  # map in use
        for p in parts:
            remove_dm(p)
        remove_dm(dm)
        return "ok\n"
    return "fail\n"


def add_map(wwid):
    paths = []
    for hctl in sorted(os.listdir(os.path.join(sysfs, "class/scsi_device"))):
        ld = lun_dir(hctl)
        if udev_wwid(rd(os.path.join(ld, "wwid"))) == wwid and disk_of(ld):
            paths.append(disk_of(ld))
    if not paths:
        return "fail\n"
    n = 10
    while os.path.lexists(os.path.join(sysfs, "block", "dm-%d" % n)):
        n += 1
    dm = "dm-%d" % n
    d = os.path.join(sysfs, "devices/virtual/block", dm)
    os.makedirs(os.path.join(d, "dm"))
    os.makedirs(os.path.join(d, "holders"))
    os.makedirs(os.path.join(d, "slaves"))
    for a, v in (("dev", "254:%d" % n), ("dm/name", wwid), ("dm/uuid", "mpath-" + wwid), ("dm/suspended", "0")):
        with open(os.path.join(d, a), "w") as f:
            f.write(v + "\n")
    rel_link(d, os.path.join(sysfs, "block", dm))
    for p in paths:
        pd = os.path.realpath(os.path.join(sysfs, "block", p))
        rel_link(pd, os.path.join(d, "slaves", p))
        rel_link(d, os.path.join(pd, "holders", dm))
    udev_add_map(dm)
    return "ok\n"


def del_path(disk):
    unlink_holders(disk)
    return "ok\n"


if sysfs:
    for hctl in os.environ.get("FAKE_HIDDEN", "").split():
        os.makedirs(sysfs + ".hidden", exist_ok=True)
        take_out(hctl, os.path.join(sysfs + ".hidden", hctl))
    for hctl in sorted(os.listdir(os.path.join(sysfs, "class/scsi_device"))):
        ld = lun_dir(hctl)
        if disk_of(ld):
            udev_add_disk(ld, disk_of(ld))
        serve_delete(hctl)
    for dm in dms():
        udev_add_map(dm)
    for host in sorted(os.listdir(os.path.join(sysfs, "class/scsi_host"))):
        serve_scan(host, os.path.realpath(os.path.join(sysfs, "class/scsi_host", host, "scan")))

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\0/org/kernel/linux/storage/multipathd")
s.listen(8)
open(ready, "w").close()
held, n = [], 0


def recvall(c, k):
    b = b""
    while len(b) < k:
        x = c.recv(k - len(b))
        if not x:
            raise EOFError
        b += x
    return b


while True:
    c, _ = s.accept()
    try:
        ln = struct.unpack("@N", recvall(c, struct.calcsize("@N")))[0]
        cmd = recvall(c, ln)
    except EOFError:
        c.close()
        continue
    ok = cmd.endswith(b"\0") and b"\0" not in cmd[:-1]
    cmd = cmd.rstrip(b"\0").decode()
    say(("" if ok else "BAD FRAMING ") + cmd)
    if mode == "hang":
        held.append(c)
        continue
    n += 1
    reply = "fail\n" if mode == "fail-then-ok" and n == 1 else "ok\n"
    words = cmd.split()  # the multipathd client ends a command with a space
    if reply == "ok\n" and sysfs and len(words) == 3:
        with lock:
            if words[:2] == ["del", "map"]:
                reply = del_map(words[2])
            elif words[:2] == ["del", "path"]:
                reply = del_path(words[2])
            elif words[:2] == ["add", "map"]:
                reply = add_map(words[2])
    elif reply == "ok\n" and cmd.startswith("add map "):
        # what udev does for the new dm-3 (13-dm-disk.rules, 10-dm.rules)
        open(os.path.join(dev, "dm-3"), "w").close()
        for link, target in (("disk/by-id/dm-uuid-mpath-" + cmd[8:], "../../dm-3"), ("mapper/" + cmd[8:], "../dm-3")):
            os.makedirs(os.path.dirname(os.path.join(dev, link)), exist_ok=True)
            os.symlink(target, os.path.join(dev, link))
    r = reply.encode() + b"\0"
    c.sendall(struct.pack("@N", len(r)) + r)
    c.close()
