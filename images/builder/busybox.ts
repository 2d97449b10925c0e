/**
 * Busybox applets linked in the image (/usr/bin/<applet> -> busybox). The list
 * is Debian busybox-static 1.35's applet set minus package managers and init
 * (tfw's own /init is PID 1); each name is checked against the binary's applet
 * table at build time so a changed busybox cannot leave dangling links.
 */
import { TfwError } from '../../runtime/errors.js';

export const APPLETS = `[ [[ acpid adjtimex ar arch arp arping ash awk base64 basename bc blkdiscard blockdev brctl
bunzip2 bzcat bzip2 cat chgrp chmod chown chroot chvt clear cmp cp cpio crc32 cut date dc dd depmod devmem df
diff dirname dmesg dnsdomainname dos2unix du echo ed egrep env expand expr factor fallocate false
fgrep find findfs fold free fsfreeze fstrim getopt getty grep groups gunzip gzip halt head hexdump hostid hostname
httpd hwclock id ifconfig insmod ionice ip ipcalc ipneigh kill killall klogd less link linux32 linux64
ln logger logname logread losetup ls lsmod lsscsi lzcat lzma md5sum mdev microcom mkdir mkdosfs mke2fs mkfifo
mknod mkswap mktemp modinfo modprobe more mount mt mv nameif nc netstat nl nproc nsenter nslookup od partprobe paste
patch pidof ping ping6 pivot_root poweroff printf ps pwd rdate readlink realpath reboot renice reset rev rm rmdir rmmod
route run-parts sed seq setpriv setsid sh sha1sum sha256sum sha512sum shuf sleep sort ssl_client start-stop-daemon stat
strings stty su switch_root sync sysctl syslogd tac tail tar taskset tc tee telnet test tftp time timeout top touch tr
traceroute traceroute6 true truncate ts tty tunctl udhcpc udhcpd uevent umount uname uniq unlink unshare unxz unzip
uptime usleep vconfig vi watch watchdog wc wget which who whoami xargs xxd xz xzcat yes zcat`
  .split(/\s+/)
  .filter(Boolean);

/** Checks that every applet name occurs NUL-terminated in the busybox binary. */
export function checkApplets(busybox: Buffer): void {
  const missing = APPLETS.filter((a) => busybox.indexOf(Buffer.from(`\0${a}\0`, 'latin1')) < 0 && busybox.indexOf(Buffer.from(`${a}\0`, 'latin1')) < 0);
  if (missing.length) throw new TfwError('ERR_TFW_IMAGE', `busybox lacks the applets ${missing.join(', ')}`);
}
