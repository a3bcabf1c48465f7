#!/bin/bash
# tools/v2vm.sh - run a shell command in a throw-away qemu VM whose only cgroup
# hierarchy is cgroup v2 (the kernel is booted with cgroup_no_v1=all), so the
# specs can check the pure v2 paths on a hybrid or v1 host.
#
# usage: tools/v2vm.sh [--hostroot] [--share DIR]... [--bin PROG]... [--mem MB] [--smp N]
#                      [--timeout S] [--kvm] [--verbose] -- 'guest shell command'
#        tools/v2vm.sh --prepare       (only fetch and unpack the kernel, then exit)
#   --hostroot   run the command inside this machine's own / (9p, read-only, with a
#                throw-away tmpfs layer on top; a fresh tmpfs /tmp: share dirs below
#                /tmp with --share)
#   --share DIR  9p-mount host DIR read-write at the same path in the guest
#   --bin PROG   copy PROG and the libraries ldd names into the guest (without --hostroot)
#   --mem MB     guest memory (default 512)       --smp N   guest CPUs (default 2)
#   --timeout S  stop the VM after S seconds (default 300): exit 124
#   --kvm        use KVM (default: TCG emulation, which works everywhere)
#   --verbose    print the whole serial console on stderr too
# The command runs as root with /bin/sh, in the root cgroup, with /sys/fs/cgroup a
# cgroup2 mount and every available controller enabled in the root's
# cgroup.subtree_control. Its output (stdout and stderr merged) is printed after
# the VM is gone, and its exit status is this script's.
#
# The kernel is Debian's linux-image-<version>-amd64 package, fetched with
# `apt-get download` (the version linux-image-amd64 depends on, or
# $LUAC_CTR_V2VM_KERNEL) and unpacked, not installed, into the cache directory
# $LUAC_CTR_V2VM_CACHE (default /var/cache/luac-ctr/v2vm). Needs qemu-system-x86,
# busybox-static and cpio (tools/install-deps.sh --test installs them).
set -euo pipefail

CACHE=${LUAC_CTR_V2VM_CACHE:-/var/cache/luac-ctr/v2vm}
MARK=LUAC_CTR_V2VM_EXIT
MODULES="virtio_pci 9pnet_virtio 9p overlay"

die() { echo "v2vm.sh: $*" >&2; exit 125; }

accel=(-accel "tcg,thread=multi")
smp=2 mem=512 tmo=300 verbose=0 hostroot=0 prepare=0
shares=() bins=()
while [ $# -gt 0 ]; do
  case "$1" in
    --hostroot) hostroot=1; shift ;;
    --share) [ -d "${2:-}" ] || die "--share needs a directory"; shares+=("$(realpath "$2")"); shift 2 ;;
    --bin) bins+=("${2:?--bin needs a program}"); shift 2 ;;
    --mem) mem=${2:?}; shift 2 ;;
    --smp) smp=${2:?}; shift 2 ;;
    --timeout) tmo=${2:?}; shift 2 ;;
    --kvm) accel=(-enable-kvm -cpu host); shift ;;
    --verbose) verbose=1; shift ;;
    --prepare) prepare=1; shift ;;
    --) shift; break ;;
    *) die "unknown option $1 (see the head of $0)" ;;
  esac
done
[ $prepare = 1 ] || [ $# -ge 1 ] || die "usage: $0 [options] -- 'command'"
posint() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "--$1 wants a positive integer, not '$2'"; }
posint mem "$mem"; posint smp "$smp"; posint timeout "$tmo"

for t in qemu-system-x86_64 cpio dpkg-deb apt-get; do
  command -v $t >/dev/null || die "$t is missing (run tools/install-deps.sh --test)"
done
[ -x /bin/busybox ] || die "/bin/busybox is missing (install busybox-static)"

# ---- the kernel: the newest one unpacked in the cache, else fetch one -------------
kernel_version() {
  if [ -n "${LUAC_CTR_V2VM_KERNEL:-}" ]; then echo "$LUAC_CTR_V2VM_KERNEL"; return; fi
  local have
  have=$(ls -d "$CACHE"/linux-*/boot 2>/dev/null | sed 's|.*/linux-||; s|/boot$||' | sort -V | tail -1)
  if [ -n "$have" ]; then echo "$have"; return; fi
  apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' | head -1
}

fetch_kernel() { # $1 version -> $CACHE/linux-$1 (unpacked .deb)
  local v=$1 dir=$CACHE/linux-$1
  [ -f "$dir/boot/vmlinuz-$v" ] && return 0
  mkdir -p "$CACHE/debs"
  (cd "$CACHE/debs" && apt-get download -q "linux-image-$v" >/dev/null 2>&1) ||
    (apt-get update -qq && cd "$CACHE/debs" && apt-get download -q "linux-image-$v" >/dev/null) ||
    die "cannot download linux-image-$v with apt-get (no network? set LUAC_CTR_V2VM_KERNEL to a cached version)"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  dpkg-deb -x "$CACHE"/debs/linux-image-"${v}"_*.deb "$dir.tmp"
  [ -f "$dir.tmp/boot/vmlinuz-$v" ] || die "linux-image-$v has no boot/vmlinuz-$v"
  mv "$dir.tmp" "$dir"
}

# The uncompressed ELF kernel inside the bzImage: qemu boots it directly (PVH),
# which saves the seconds TCG takes to decompress. Empty when it cannot be found.
vmlinux_of() { # $1 vmlinuz, $2 output
  [ -s "$2" ] && return 0
  local off
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$1" | head -1 | cut -d: -f1 || true)
  [ -n "$off" ] || return 0
  tail -c +$((off + 1)) "$1" | xz -dcq 2>/dev/null > "$2.tmp" || true
  if [ "$(head -c 4 "$2.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then mv "$2.tmp" "$2"; else rm -f "$2.tmp"; fi
}

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
KVER=$(kernel_version)
[ -n "$KVER" ] || die "cannot tell which kernel to use: apt-cache knows no linux-image-amd64 (apt-get update?)"
[[ $KVER =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || die "bad kernel version $KVER"
fetch_kernel "$KVER"
KDIR=$CACHE/linux-$KVER
vmlinux_of "$KDIR/boot/vmlinuz-$KVER" "$KDIR/vmlinux"
flock -u 9
[ $prepare = 1 ] && { echo "$KDIR"; exit 0; }
BOOT=$KDIR/boot/vmlinuz-$KVER
[ -s "$KDIR/vmlinux" ] && BOOT=$KDIR/vmlinux
MODROOT=$KDIR/lib/modules/$KVER

# ---- modules: the wanted ones and what they depend on, in load order ----------------
ko_path() { # module name -> its file below $MODROOT (empty when built in)
  local n=${1//-/_} f
  f=$(find "$MODROOT/kernel" -name "$n.ko*" -o -name "${n//_/-}.ko*" 2>/dev/null | head -1)
  echo "$f"
}
ko_depends() { # file -> names it depends on
  local f=$1
  case "$f" in
    *.xz) xz -dc "$f" ;; *.zst) zstd -dcq "$f" ;; *.gz) gzip -dc "$f" ;; *) cat "$f" ;;
  esac | tr '\0' '\n' | sed -n 's/^depends=//p' | head -1 | tr ',' ' '
}
declare -A seen=()
order=()
add_module() {
  local n=${1//-/_}
  [ -n "${seen[$n]:-}" ] && return 0
  seen[$n]=1
  local f
  f=$(ko_path "$n")
  if [ -z "$f" ]; then
    grep -qE "/${n//_/[-_]}\.ko" "$MODROOT/modules.builtin" 2>/dev/null && return 0
    die "kernel $KVER has no module $n"
  fi
  local d
  for d in $(ko_depends "$f"); do add_module "$d"; done
  order+=("$f")
}
for m in $MODULES; do add_module "$m"; done

# ---- the initramfs ---------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/luac-ctr-v2vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,host,newroot,etc,lib/mods}
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
i=0
for f in "${order[@]}"; do
  dst=$root/lib/mods/$(printf %02d $i).ko
  case "$f" in
    *.xz) xz -dc "$f" > "$dst" ;; *.zst) zstd -dcq "$f" > "$dst" ;; *.gz) gzip -dc "$f" > "$dst" ;;
    *) cp "$f" "$dst" ;;
  esac
  i=$((i + 1))
done
for b in "${bins[@]}"; do
  b=$(command -v "$b") || die "no program $b"
  for f in "$b" $(ldd "$b" 2>/dev/null | grep -o '/[^ ]*' || true); do
    mkdir -p "$root$(dirname "$f")" && cp -L "$f" "$root$f"
  done
done
qargs=()
i=0
for d in "${shares[@]}"; do
  qargs+=(-virtfs "local,path=$d,mount_tag=share$i,security_model=passthrough,id=share$i")
  printf 'share%d %s\n' $i "$d" >> "$root/etc/shares"
  i=$((i + 1))
done
if [ $hostroot = 1 ]; then
  qargs+=(-virtfs "local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap,id=hostroot")
  touch "$root/etc/hostroot"
fi
printf '%s\n' "$*" > "$root/cmd.sh"
cat > "$root/init" <<EOF
#!/bin/sh
# PID 1 of the VM: mounts, modules, cgroup2, then the command ($MARK=<status>).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc && mount -t sysfs sysfs /sys && mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
echo 1 > /proc/sys/kernel/printk
for m in /lib/mods/*.ko; do [ -e "\$m" ] && { insmod "\$m" || echo "v2vm: insmod \$m failed"; }; done
mount -t cgroup2 cgroup2 /sys/fs/cgroup
for c in \$(cat /sys/fs/cgroup/cgroup.controllers); do echo "+\$c" > /sys/fs/cgroup/cgroup.subtree_control; done
nr=
if [ -f /etc/hostroot ]; then
  nr=/newroot
  mkdir -p /tmp/.v2vm/up /tmp/.v2vm/work
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro hostroot /host
  mount -t overlay overlay -o lowerdir=/host,upperdir=/tmp/.v2vm/up,workdir=/tmp/.v2vm/work \$nr
  for d in proc sys dev; do mount --rbind /\$d \$nr/\$d; done
  mount -t tmpfs tmpfs \$nr/tmp
  mkdir -p \$nr/.v2vm && cp /bin/busybox /cmd.sh \$nr/.v2vm/
fi
if [ -f /etc/shares ]; then
  while read tag dir; do
    mkdir -p "\$nr\$dir" && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 \$tag "\$nr\$dir" ||
      echo "v2vm: cannot mount \$dir"
  done < /etc/shares
fi
if [ -n "\$nr" ]; then
  # switch_root, not chroot: a chrooted process may not make user namespaces
  exec switch_root \$nr /.v2vm/busybox sh -c 'cd /tmp; /bin/sh /.v2vm/cmd.sh </dev/null 2>&1
    echo "$MARK=\$?"; sync; /.v2vm/busybox poweroff -f'
fi
cd /tmp && sh /cmd.sh </dev/null 2>&1
echo "$MARK=\$?"
sync
poweroff -f
EOF
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"

# ---- boot ------------------------------------------------------------------------
bios=()
[ -f /usr/share/qemu/qboot.rom ] && bios=(-bios /usr/share/qemu/qboot.rom)
console=$work/console
set +e
timeout "$tmo" qemu-system-x86_64 "${accel[@]}" -m "$mem" -smp "$smp" -nodefaults -no-user-config \
  -display none -no-reboot -serial "file:$console" "${bios[@]}" \
  -kernel "$BOOT" -initrd "$work/initrd.gz" \
  -append "console=ttyS0 cgroup_no_v1=all panic=-1 quiet loglevel=1 mitigations=off tsc=reliable no_timer_check 8250.nr_uarts=1 rdinit=/init" \
  "${qargs[@]}"
qrc=$?
set -e
[ $verbose = 1 ] && cat "$console" >&2
rc=$(grep -a -o "$MARK=[0-9]*" "$console" | tail -1 | cut -d= -f2 || true)
grep -a -v -e "$MARK=" -e 'reboot: Power down' "$console" | tr -d '\r' || true
if [ -z "$rc" ]; then
  echo "v2vm.sh: the guest reported no exit status (qemu exit $qrc)" >&2
  [ $qrc = 124 ] && exit 124
  exit 125
fi
exit "$rc"
