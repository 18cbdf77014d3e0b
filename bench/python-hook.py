#!/usr/bin/python3
"""Reference hook in Python doing the same work as migkit-hook's
`migrate begin`: read the config, parse the domain XML, check (and create)
the bridges, create the instance directory, strip the missing config drive,
write a journal atomically and print the XML. Used only by `make bench`."""
import configparser, fnmatch, os, socket, subprocess, sys, time
import xml.etree.ElementTree as ET

def main():
    if len(sys.argv) != 5 or sys.argv[2:4] != ["migrate", "begin"]:
        return 0
    cfg = configparser.ConfigParser()
    cfg.read(os.environ.get("MIGKIT_CONFIG", "/etc/migkit/migkit.conf"))
    inst = cfg.get("paths", "instances", fallback="/var/lib/nova/instances")
    state = cfg.get("paths", "state", fallback="/var/lib/migkit")
    allow = cfg.get("bridges", "allow", fallback="qbr* brq*").replace(",", " ").split()
    data = sys.stdin.buffer.read(4 << 20)
    if b"<!DOCTYPE" in data:
        sys.stderr.write("DOCTYPE refused\n")
        return 1
    root = ET.fromstring(data)
    uuid = root.findtext("uuid")
    created, changed = [], False
    for iface in root.findall("./devices/interface[@type='bridge']"):
        br = iface.find("source").get("bridge")
        mtu = iface.find("mtu")
        try:
            socket.if_nametoindex(br)
        except OSError:
            if not any(fnmatch.fnmatch(br, g) for g in allow):
                sys.stderr.write(f"bridge {br} not allowed\n")
                return 1
            subprocess.run(["ip", "link", "add", br, "mtu", mtu.get("size") if mtu is not None else "1500",
                            "up", "type", "bridge"], check=True)
            created.append(("bridge", br))
    d = os.path.join(inst, uuid)
    if not os.path.isdir(d):
        os.mkdir(d, 0o755)
        created.append(("dir", d))
    for disk in root.findall("./devices/disk[@device='cdrom']"):
        src = disk.find("source")
        if src is not None and os.path.basename(src.get("file", "")) == "disk.config" \
                and not os.path.exists(src.get("file")):
            disk.remove(src)
            changed = True
            created.append(("stripped", src.get("file")))
    if created:
        jd = os.path.join(state, "journal")
        os.makedirs(jd, 0o700, exist_ok=True)
        tmp = os.path.join(jd, f".#{uuid}.{os.getpid()}")
        with open(tmp, "w") as f:
            f.write(f"migkit-journal 1\nuuid {uuid}\nstarted {int(time.time())}\n")
            f.writelines(f"{k} {v}\n" for k, v in created)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(jd, uuid))
    if changed:
        sys.stdout.write(ET.tostring(root, encoding="unicode"))
    return 0

sys.exit(main())
