# tests/pkg/run, part: install cycles, run by tests/pkg/run as
#   unshare -m -p -f --propagation private bash tests/pkg/cycle.sh
# with DEB, RPM, HAVE_DEB, HAVE_RPM, W, VERSION, RESULTS set. The root is an
# overlay of this machine's / (upper layer on a tmpfs) in this private mount
# namespace, with a fresh /proc of this PID namespace, /run and /tmp: dpkg,
# rpm and the maintainer scripts see a copy of the host (its dpkg database
# included) and every change vanishes with the namespace. No systemd runs in
# there and policy-rc.d refuses daemon actions; a stand-in "libvirtd"
# process checks the scripts' libvirt policy (a notice, never a signal).
set -u
. tests/pkg/lib.sh

ov=$W/ov
mkdir -p "$ov" && mount -t tmpfs -o size=512m tmpfs "$ov" &&
mkdir "$ov/u" "$ov/w" "$ov/m" &&
mount -t overlay overlay -o "lowerdir=/,upperdir=$ov/u,workdir=$ov/w" "$ov/m" || {
	sk "install cycles (cannot mount an overlay of / here)"; exit 0; }
M=$ov/m
mount -t proc proc "$M/proc" && mount --rbind /dev "$M/dev" &&
mount -t tmpfs tmpfs "$M/run" && mount -t tmpfs tmpfs "$M/tmp" || {
	ko "install cycles (cannot mount /proc, /dev, /run, /tmp in the overlay)"; exit 0; }
printf '#!/bin/sh\nexit 101\n' > "$M/usr/sbin/policy-rc.d" && chmod 755 "$M/usr/sbin/policy-rc.d"

# A root without migkit, whatever this machine has installed: its package
# purged, every file a `make install` makes removed ($W/stage.list, man pages
# also compressed: man -w prefers an uncompressed migkit.1 of the machine's
# to the package's .gz), its configuration and state gone.
if chroot "$M" dpkg-query -W -f '${db:Status-Status}' migkit 2>/dev/null | grep -qv '^not-installed$'; then
	chroot "$M" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin dpkg --purge --force-all migkit > "$W/dpkg-host-purge.log" 2>&1 < /dev/null
fi
while read -r f; do rm -f "$M$f" "$M$f.gz"; done < "$W/stage.list"
rm -rf "$M/etc/migkit" "$M/var/lib/migkit" "$M/usr/libexec/migkit"
if [ -e "$M/usr/bin/migkit" ] || [ -e "$M/usr/share/man/man1/migkit.1" ] || [ -e "$M/etc/migkit" ]; then
	ko "install cycles: the overlay root still has migkit files of this machine's"; exit 1
fi

in_root() { chroot "$M" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@" < /dev/null; }
conf=/etc/migkit/migkit.conf

# The stand-in libvirtd: the scripts must tell how to reload it, not do it.
cp /bin/sleep "$M/tmp/libvirtd"
chroot "$M" /tmp/libvirtd 600 &
fake=$!
sleep 0.2

# ---- dpkg ----------------------------------------------------------------
if [ -n "$HAVE_DEB" ]; then
	cp "$DEB" "$M/tmp/migkit-1.deb"
	# Two later versions made from this one: -2 with the same conffile, -3
	# with a changed one (what an upgrade that touches migkit.conf brings).
	x=$W/debx
	dpkg-deb -R "$DEB" "$x"
	sed -i "s/^Version: .*/Version: $VERSION-2/" "$x/DEBIAN/control"
	dpkg-deb -b --root-owner-group "$x" "$M/tmp/migkit-2.deb" >/dev/null
	sed -i "s/^Version: .*/Version: $VERSION-3/" "$x/DEBIAN/control"
	echo "# a line the next version added" >> "$x$conf"
	dpkg-deb -b --root-owner-group "$x" "$M/tmp/migkit-3.deb" >/dev/null

	what="dpkg -i installs the .deb in a copy of this machine"
	if out=$(in_root dpkg -i /tmp/migkit-1.deb 2>&1); then ok "$what"; else ko "$what ($(echo "$out" | tail -3 | tr '\n' ' '))"; fi
	echo "$out" > "$W/dpkg-install.log"

	what="installed: migkit --version, the hook link, a valid migkit.conf, /var/lib/migkit 0700"
	v=$(in_root migkit --version 2>&1 | head -1) # then the libvirt it runs against
	l=$(readlink "$M/etc/libvirt/hooks/qemu.d/50-migkit")
	c=$(in_root /usr/libexec/migkit/migkit-hook --check-config 2>&1)
	m=$(stat -c %a "$M/var/lib/migkit" 2>&1)
	[ "$v" = "migkit $VERSION" ] && [ "$l" = /usr/libexec/migkit/migkit-hook ] && [ "$c" = "$conf: OK" ] && [ "$m" = 700 ] &&
		ok "$what" || ko "$what (version '$v', link '$l', check '$c', mode '$m')"

	what="migkit-watch.service and migkit-purge.timer are enabled (deb-systemd-helper)"
	[ -L "$M/etc/systemd/system/multi-user.target.wants/migkit-watch.service" ] &&
	[ -L "$M/etc/systemd/system/timers.target.wants/migkit-purge.timer" ] &&
		ok "$what" || ko "$what (no links in /etc/systemd/system/*.wants)"

	what="postinst: without systemd it prints how to reload libvirtd and signals nothing"
	if grep -q "libvirtd (pid $fake) .*kill -HUP $fake" "$W/dpkg-install.log" && kill -0 "$fake" 2>/dev/null; then
		ok "$what"
	else
		ko "$what (output: $(tr '\n' ' ' < "$W/dpkg-install.log" | tail -c 300); stand-in alive: $(kill -0 "$fake" 2>/dev/null && echo yes || echo no))"
	fi

	what="man migkit and man migkit.conf find the installed pages"
	p1=$(in_root man -w migkit 2>&1) p5=$(in_root man -w 5 migkit.conf 2>&1)
	[ "$p1" = /usr/share/man/man1/migkit.1.gz ] && [ "$p5" = /usr/share/man/man5/migkit.conf.5.gz ] &&
		ok "$what" || ko "$what ($p1; $p5)"

	# The operator's change to the conffile.
	sed -i 's/^#retention = 1d$/retention = 7d/' "$M$conf"
	grep -qx 'retention = 7d' "$M$conf" || ko "test setup: could not edit $conf"

	what="reinstalling the same .deb keeps the modified migkit.conf"
	out=$(in_root dpkg -i /tmp/migkit-1.deb 2>&1)
	grep -qx 'retention = 7d' "$M$conf" && [ ! -e "$M$conf.dpkg-new" ] && ok "$what" || ko "$what ($(echo "$out" | tail -2 | tr '\n' ' '))"

	what="upgrade to $VERSION-2 (same conffile) keeps it, without a prompt"
	out=$(in_root dpkg -i /tmp/migkit-2.deb 2>&1)
	v=$(in_root dpkg-query -W -f '${Version}' migkit)
	[ "$v" = "$VERSION-2" ] && grep -qx 'retention = 7d' "$M$conf" && ok "$what" || ko "$what (version '$v': $(echo "$out" | tail -2 | tr '\n' ' '))"

	what="upgrade to $VERSION-3 (conffile changed too) keeps the operator's, new one as .dpkg-dist"
	out=$(in_root dpkg -i --force-confdef --force-confold /tmp/migkit-3.deb 2>&1)
	v=$(in_root dpkg-query -W -f '${Version}' migkit)
	[ "$v" = "$VERSION-3" ] && grep -qx 'retention = 7d' "$M$conf" && grep -q 'a line the next version added' "$M$conf.dpkg-dist" 2>/dev/null &&
		ok "$what" || ko "$what (version '$v': $(echo "$out" | tail -2 | tr '\n' ' '))"
	rm -f "$M$conf.dpkg-dist"

	# State and a quarantined directory, as a host in use has them.
	mkdir -p "$M/var/lib/migkit/journal" "$M/var/lib/nova/instances/.migkit-quarantine/0f0e0d0c-0b0a-4998-8776-655443322110.1"
	echo '{}' > "$M/var/lib/migkit/journal/0f0e0d0c-0b0a-4998-8776-655443322110"

	what="dpkg -r: programs, hook and units gone; migkit.conf and /var/lib/migkit kept; prerm warns about the journal"
	out=$(in_root dpkg -r migkit 2>&1)
	st=$(in_root dpkg-query -W -f '${db:Status-Status}' migkit 2>&1)
	if [ "$st" = config-files ] && [ ! -e "$M/usr/bin/migkit" ] && [ ! -L "$M/etc/libvirt/hooks/qemu.d/50-migkit" ] &&
	   [ ! -e "$M/lib/systemd/system/migkit-watch.service" ] && grep -qx 'retention = 7d' "$M$conf" &&
	   [ -d "$M/var/lib/migkit/journal" ] && echo "$out" | grep -q 'journal lists incoming migrations'; then
		ok "$what"
	else
		ko "$what (status '$st': $(echo "$out" | tail -3 | tr '\n' ' '))"
	fi

	what="dpkg -P: migkit.conf and /var/lib/migkit deleted, the quarantine of guests' data kept"
	out=$(in_root dpkg -P migkit 2>&1)
	st=$(in_root dpkg-query -W -f '${db:Status-Status}' migkit 2>&1)
	if [ ! -e "$M$conf" ] && [ ! -e "$M/etc/migkit" ] && [ ! -e "$M/var/lib/migkit" ] &&
	   [ -d "$M/var/lib/nova/instances/.migkit-quarantine/0f0e0d0c-0b0a-4998-8776-655443322110.1" ] &&
	   [ ! -L "$M/etc/systemd/system/multi-user.target.wants/migkit-watch.service" ]; then
		ok "$what"
	else
		ko "$what (status '$st': $(echo "$out" | tail -3 | tr '\n' ' '))"
	fi
	rm -rf "$M/var/lib/nova/instances/.migkit-quarantine"
fi

# ---- rpm -----------------------------------------------------------------
if [ -n "$HAVE_RPM" ]; then
	cp "$RPM" "$M/tmp/migkit.rpm"
	db="--dbpath /var/lib/rpm-migkit-test"
	in_root rpm $db --initdb
	what="rpm -i installs the .rpm (--nodeps: Fedora's dependency names)"
	if out=$(in_root rpm $db -i --nodeps /tmp/migkit.rpm 2>&1); then ok "$what"; else ko "$what ($(echo "$out" | tail -3 | tr '\n' ' '))"; fi
	what="installed from the .rpm: migkit --version, the hook link, the units in /usr/lib/systemd/system"
	v=$(in_root migkit --version 2>&1 | head -1) # then the libvirt it runs against
	[ "$v" = "migkit $VERSION" ] && [ -L "$M/etc/libvirt/hooks/qemu.d/50-migkit" ] && [ -f "$M/usr/lib/systemd/system/migkit-watch.service" ] &&
		ok "$what" || ko "$what (version '$v')"
	what="%post: without systemd it prints how to reload libvirtd and signals nothing"
	echo "$out" | grep -q "libvirtd (pid $fake) .*kill -HUP $fake" && kill -0 "$fake" 2>/dev/null && ok "$what" || ko "$what (output: $(echo "$out" | tr '\n' ' ' | tail -c 300))"

	sed -i 's/^#retention = 1d$/retention = 7d/' "$M$conf"
	what="rpm reinstall keeps the modified migkit.conf (%config(noreplace))"
	out=$(in_root rpm $db -i --nodeps --replacepkgs /tmp/migkit.rpm 2>&1)
	grep -qx 'retention = 7d' "$M$conf" && ok "$what" || ko "$what ($(echo "$out" | tail -2 | tr '\n' ' '))"
	what="rpm -e removes the programs and keeps the modified migkit.conf as .rpmsave"
	out=$(in_root rpm $db -e migkit 2>&1)
	[ ! -e "$M/usr/bin/migkit" ] && [ ! -L "$M/etc/libvirt/hooks/qemu.d/50-migkit" ] && grep -qx 'retention = 7d' "$M$conf.rpmsave" 2>/dev/null &&
		ok "$what" || ko "$what ($(echo "$out" | tail -2 | tr '\n' ' '))"
fi

kill "$fake" 2>/dev/null
exit 0
