# A fake multipathd for the sh tests (tests/sh/lib.sh: fake_multipathd):
# listens on multipathd's abstract socket (the test's private network
# namespace gives it one of its own) and speaks libmpathcmd's framing (a
# size_t length, then the command with its NUL; the same for the reply).
#   python3 fake-multipathd.py MODE LOG DEV READY
# MODE ok: replies "ok"; fail-then-ok: "fail" to the first command, then
# "ok"; hang: accepts and never replies. Every command is appended to LOG
# ("BAD FRAMING " first when the NUL is missing or misplaced). On "ok" to
# "add map WWID", makes what udev would for the new dm-3 below DEV. READY
# is created once it listens.
import os
import socket
import struct
import sys

mode, log, dev, ready = sys.argv[1:5]
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
    with open(log, "a") as f:
        f.write(("" if ok else "BAD FRAMING ") + cmd + "\n")
    if mode == "hang":
        held.append(c)
        continue
    n += 1
    reply = "fail\n" if mode == "fail-then-ok" and n == 1 else "ok\n"
    if reply == "ok\n" and cmd.startswith("add map "):
        # what udev does for the new dm-3 (13-dm-disk.rules, 10-dm.rules)
        open(os.path.join(dev, "dm-3"), "w").close()
        for link, target in (("disk/by-id/dm-uuid-mpath-" + cmd[8:], "../../dm-3"), ("mapper/" + cmd[8:], "../dm-3")):
            os.makedirs(os.path.dirname(os.path.join(dev, link)), exist_ok=True)
            os.symlink(target, os.path.join(dev, link))
    r = reply.encode() + b"\0"
    c.sendall(struct.pack("@N", len(r)) + r)
    c.close()
