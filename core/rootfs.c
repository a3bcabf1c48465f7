/* rootfs.c - the container's root filesystem, built inside its own mount
 * namespace: private propagation, overlayfs root, the configured mounts,
 * device nodes, pivot_root, masked and read-only paths, the working
 * directory. Every destination is resolved once, inside the root, with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so a symlink, ".." or a
 * /proc/self/fd link in the image or a shared volume cannot make a step land
 * on the host; each mount is built detached (open_tree / fsmount), given its
 * flags and propagation there (mount_setattr, recursively) and attached onto
 * that fd (move_mount): no path is looked up twice. */
#include "rootfs.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "detached.h"

static int openat2_in_root(int rootfd, const char *path, int flags, ctr_error_t *err) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (unsigned long long)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  while (*path == '/')
    path++;
  if (*path == '\0')
    path = ".";
  int fd;
  do
    fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  if (fd < 0)
    return ctr_fail_errno(err, "open %s inside the container root", path);
  return fd;
}

/* Create every directory of path below rootfd (like mkdir -p), resolving
 * each prefix inside the root; with is_file the last component is an empty
 * file. Returns an O_PATH fd of the result. */
static int mkpath_in_root(int rootfd, const char *path, bool is_file, ctr_error_t *err) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return ctr_fail(err, ENAMETOOLONG, "path %s", path);
  char *p = buf;
  while (*p == '/')
    p++;
  while (*p) {
    char *slash = strchr(p, '/');
    bool last = slash == NULL || slash[strspn(slash, "/")] == '\0';
    if (slash)
      *slash = '\0';
    char *name = strrchr(buf, '/');
    name = name ? name + 1 : buf;
    cleanup_fd int parent = -1;
    if (name == buf + 1 || name == buf) {
      parent = dup(rootfd);
    } else {
      name[-1] = '\0';
      parent = openat2_in_root(rootfd, buf, O_PATH | O_DIRECTORY, err);
      name[-1] = '/';
    }
    if (parent < 0)
      return ctr_error_wrap(err, "creating %s", path);
    if (last && is_file) {
      /* O_EXCL: a file already there (often the image's /etc/hosts) is not
       * opened for writing, which would copy it up from the overlay's lower
       * layer (~1 ms) only to mount over it */
      int fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0 && errno != EEXIST && errno != EISDIR && errno != ELOOP)
        return ctr_fail_errno(err, "create mount point %s", path);
      if (fd >= 0)
        close(fd);
    } else if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST) {
      return ctr_fail_errno(err, "mkdir %s (for %s)", buf, path);
    }
    if (!slash)
      break;
    *slash = '/';
    p = slash + 1;
    while (*p == '/')
      p++;
  }
  return openat2_in_root(rootfd, path, O_PATH, err);
}

/* No mount lands inside the container's procfs (runc's rule, the
 * CVE-2019-16884 class): a volume over /proc/self (or through an image's
 * symlink to it) would hand the runtime's own later reads and writes there
 * (the start fifo, oom_score_adj) to files of the container's choosing.
 * Allowed: proc itself at /proc, and binds of regular files over the files
 * lxcfs serves (runc's list). target is the destination, resolved. */
static int check_proc_target(const ctr_mount_t *m, int target, bool file, ctr_error_t *err) {
  static const char *const lxcfs[] = {"/proc/cpuinfo",
                                      "/proc/diskstats",
                                      "/proc/meminfo",
                                      "/proc/stat",
                                      "/proc/swaps",
                                      "/proc/uptime",
                                      "/proc/loadavg",
                                      "/proc/slabinfo",
                                      "/proc/net/dev",
                                      "/proc/sys/kernel/ns_last_pid",
                                      NULL};
  struct statfs sf;
  if (fstatfs(target, &sf) < 0)
    return ctr_fail_errno(err, "statfs the mount point %s", m->destination);
  if (sf.f_type != PROC_SUPER_MAGIC)
    return 0;
  if (m->type && strcmp(m->type, "proc") == 0 && strcmp(m->destination, "/proc") == 0)
    return 0;
  for (const char *const *p = lxcfs; file && m->bind && *p; p++)
    if (strcmp(m->destination, *p) == 0)
      return 0;
  return ctr_fail(err, EPERM, "mount on %s: it is inside /proc: refusing it", m->destination);
}

/* A bind: the source tree is cloned (recursively for rbind), given its
 * flags and propagation while detached, then attached onto the destination
 * resolved once inside the root: a read-only volume is read-only all the way
 * down, and a path swapped after the lookup cannot redirect any step. */
static int bind_mount(const ctr_mount_t *m, int made, int rootfd, ctr_error_t *err) {
  /* made >= 0: made by the parent (userns.h), flags and propagation set */
  cleanup_fd int mine =
      made < 0 ? ctr_detached_clone(AT_FDCWD, m->source, (m->flags & MS_REC) != 0, err) : -1;
  int tree = made >= 0 ? made : mine;
  if (tree < 0)
    return ctr_error_wrap(err, "bind mount source %s", m->source);
  struct stat st;
  if (fstat(tree, &st) < 0)
    return ctr_fail_errno(err, "stat the bind mount source %s", m->source);
  if (made < 0 && ctr_detached_setattr(tree, m->flags, m->propagation, m->destination, err) < 0)
    return -1;
  cleanup_fd int target = mkpath_in_root(rootfd, m->destination, !S_ISDIR(st.st_mode), err);
  if (target < 0 || check_proc_target(m, target, !S_ISDIR(st.st_mode), err) < 0)
    return -1;
  if (ctr_detached_attach(tree, target, m->destination, err) < 0)
    return ctr_error_wrap(err, "bind mount %s on %s", m->source, m->destination);
  return 0;
}

/* Any other filesystem: made detached (fsopen/fsmount), flags and
 * propagation set, attached onto the destination resolved once. */
static int fs_mount(const ctr_mount_t *m, int rootfd, ctr_error_t *err) {
  cleanup_fd int mnt = ctr_detached_new(m->type, m->source, m->data, m->flags, err);
  if (mnt < 0)
    return ctr_error_wrap(err, "mount %s on %s", m->type, m->destination);
  if (ctr_detached_setattr(mnt, m->flags, m->propagation, m->destination, err) < 0)
    return -1;
  cleanup_fd int target = mkpath_in_root(rootfd, m->destination, false, err);
  if (target < 0 || check_proc_target(m, target, false, err) < 0)
    return -1;
  return ctr_detached_attach(mnt, target, m->destination, err);
}

static int do_mount(const ctr_mount_t *m, int made, int rootfd, ctr_error_t *err) {
  return m->bind ? bind_mount(m, made, rootfd, err) : fs_mount(m, rootfd, err);
}

/* Where a device node goes there is nothing, or a device node (replaced):
 * anything else (a symlink, a file, a directory) is refused, never followed.
 * The node gets its mode from mknodat itself (umask 0) and its owner through
 * an fd checked to be the node just made. */
static int make_device(int dirfd, const char *name, const ctr_device_t *d, ctr_error_t *err) {
  mode_t type = d->type == 'b' ? S_IFBLK : S_IFCHR;
  dev_t rdev = makedev(d->major, d->minor);
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
      return ctr_fail(
          err, EEXIST,
          "%s already exists in the container and is not a device node: refusing to use it",
          d->path);
    if (unlinkat(dirfd, name, 0) < 0)
      return ctr_fail_errno(err, "remove the existing device node %s", d->path);
  } else if (errno != ENOENT) {
    return ctr_fail_errno(err, "stat %s", d->path);
  }
  mode_t old = umask(0);
  int r = mknodat(dirfd, name, type | (d->mode & 07777), rdev);
  umask(old);
  if (r < 0)
    return ctr_fail_errno(err, "mknod %s", d->path);
  cleanup_fd int node = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (node < 0)
    return ctr_fail_errno(err, "open the new device node %s", d->path);
  if (fstat(node, &st) < 0)
    return ctr_fail_errno(err, "stat the new device node %s", d->path);
  if ((st.st_mode & S_IFMT) != type || st.st_rdev != rdev)
    return ctr_fail(err, EEXIST, "%s was replaced while it was being made", d->path);
  if (fchownat(node, "", d->uid, d->gid, AT_EMPTY_PATH) < 0)
    return ctr_fail_errno(err, "chown %s", d->path);
  return 0;
}

/* In a user namespace no device node can be made: the host's node d->path
 * (checked to be that device) is bound onto an empty file instead. */
static int bind_device(int dirfd, const char *name, const ctr_device_t *d, ctr_error_t *err) {
  cleanup_fd int node = ctr_detached_clone(AT_FDCWD, d->path, false, err);
  if (node < 0)
    return ctr_error_wrap(err, "device %s (bound from the host in a user namespace)", d->path);
  struct stat st;
  if (fstat(node, &st) < 0)
    return ctr_fail_errno(err, "stat the host's device %s", d->path);
  mode_t type = d->type == 'b' ? S_IFBLK : S_IFCHR;
  if ((st.st_mode & S_IFMT) != type || st.st_rdev != makedev(d->major, d->minor))
    return ctr_fail(err, ENODEV, "the host's %s is not device %c %u:%u", d->path, d->type, d->major,
                    d->minor);
  int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return ctr_fail_errno(err, "create the mount point of the device %s", d->path);
  close(fd);
  cleanup_fd int target = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (target < 0)
    return ctr_fail_errno(err, "open the mount point of the device %s", d->path);
  return ctr_detached_attach(node, target, d->path, err);
}

static int make_devices(const ctr_spawn_cfg_t *cfg, int rootfd, ctr_error_t *err) {
  for (size_t i = 0; i < cfg->ndevices; i++) {
    const ctr_device_t *d = &cfg->devices[i];
    const char *slash = strrchr(d->path, '/');
    char dir[512];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - d->path) : 0, d->path);
    cleanup_fd int dfd = mkpath_in_root(rootfd, dir[0] ? dir : "/", false, err);
    if (dfd < 0)
      return -1;
    cleanup_fd int dirfd = openat2_in_root(rootfd, dir[0] ? dir : "/", O_DIRECTORY | O_RDONLY, err);
    if (dirfd < 0)
      return -1;
    const char *name = slash ? slash + 1 : d->path;
    bool userns = (cfg->clone_flags & CLONE_NEWUSER) != 0;
    if ((userns ? bind_device(dirfd, name, d, err) : make_device(dirfd, name, d, err)) < 0)
      return -1;
  }
  return 0;
}

static bool has_dev_tmpfs(const ctr_spawn_cfg_t *cfg) {
  for (size_t i = 0; i < cfg->nmounts; i++)
    if (strcmp(cfg->mounts[i].destination, "/dev") == 0 && !cfg->mounts[i].bind)
      return true;
  return false;
}

static int dev_symlinks(int rootfd, ctr_error_t *err) {
  static const char *const links[][2] = {
      {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},         {"/proc/kcore", "core"},
  };
  cleanup_fd int dev = openat2_in_root(rootfd, "/dev", O_DIRECTORY | O_RDONLY, err);
  if (dev < 0)
    return -1;
  for (size_t i = 0; i < sizeof links / sizeof *links; i++)
    if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
      return ctr_fail_errno(err, "symlink /dev/%s", links[i][1]);
  return 0;
}

static int mount_root(const ctr_spawn_cfg_t *cfg, ctr_error_t *err) {
  if (cfg->overlay_lower) {
    char data[8192];
    /* mounted inside a user namespace (rootless): user.overlay.* xattrs */
    bool user = (cfg->clone_flags & CLONE_NEWUSER) != 0;
    int n = snprintf(data, sizeof data, "lowerdir=%s,upperdir=%s,workdir=%s%s", cfg->overlay_lower,
                     cfg->overlay_upper, cfg->overlay_work, user ? ",userxattr" : "");
    if (n < 0 || (size_t)n >= sizeof data)
      return ctr_fail(err, E2BIG, "overlay options for %s are too long", cfg->rootfs);
    if (mount("overlay", cfg->rootfs, "overlay", 0, data) < 0)
      return ctr_fail_errno(err, "mount overlay on %s (%s)", cfg->rootfs, data);
  } else if (mount(cfg->rootfs, cfg->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
    return ctr_fail_errno(err, "bind mount the root %s on itself", cfg->rootfs);
  }
  return 0;
}

static int do_pivot(int newroot, const char *rootfs, ctr_error_t *err) {
  if (fchdir(newroot) < 0)
    return ctr_fail_errno(err, "chdir to the new root %s", rootfs);
  /* pivot_root(".", "."): the old root ends up on top of the new one and is
   * detached at once, so no directory for it is needed in the image. */
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return ctr_fail_errno(err, "pivot_root to %s", rootfs);
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return ctr_fail_errno(err, "make the old root a slave before detaching it");
  if (umount2(".", MNT_DETACH) < 0)
    return ctr_fail_errno(err, "detach the old root");
  if (chdir("/") < 0)
    return ctr_fail_errno(err, "chdir / in the new root");
  return 0;
}

/* A masked or read-only path, resolved once inside the root without
 * following its last component: 1 with *out its fd, 0 when it does not
 * exist, -1 on error (a symlink is refused). */
static int open_setup_path(int root, const char *path, const char *what, int *out,
                           ctr_error_t *err) {
  cleanup_fd int fd = openat2_in_root(root, path, O_PATH | O_NOFOLLOW, err);
  if (fd < 0)
    return err->errnum == ENOENT ? 0 : -1;
  struct stat st;
  if (fstat(fd, &st) < 0)
    return ctr_fail_errno(err, "stat the %s path %s", what, path);
  if (S_ISLNK(st.st_mode))
    return ctr_fail(err, ELOOP, "the %s path %s is a symlink: refusing it", what, path);
  *out = steal_fd(&fd);
  return 1;
}

/* The container's own /dev/null, checked to be the device. */
static int open_devnull(int root, ctr_error_t *err) {
  cleanup_fd int fd = openat2_in_root(root, "/dev/null", O_PATH | O_NOFOLLOW, err);
  if (fd < 0)
    return ctr_error_wrap(err, "masking paths");
  struct stat st;
  if (fstat(fd, &st) < 0)
    return ctr_fail_errno(err, "stat /dev/null");
  if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
    return ctr_fail(err, EINVAL,
                    "/dev/null in the container is not the null device: cannot mask paths with it");
  return steal_fd(&fd);
}

/* A directory is hidden by an empty read-only tmpfs, anything else by
 * /dev/null; both attached onto the fd the path was resolved to. */
static int mask_paths(int root, char **paths, ctr_error_t *err) {
  for (char **p = paths; p && *p; p++) {
    cleanup_fd int fd = -1;
    int found = open_setup_path(root, *p, "masked", &fd, err);
    if (found < 0)
      return -1;
    if (found == 0)
      continue;
    struct stat st;
    if (fstat(fd, &st) < 0)
      return ctr_fail_errno(err, "stat masked path %s", *p);
    cleanup_fd int mnt = -1;
    if (S_ISDIR(st.st_mode)) {
      mnt = ctr_detached_new("tmpfs", "tmpfs", "size=0", 0, err);
      if (mnt < 0 || ctr_detached_setattr(mnt, MS_RDONLY, 0, *p, err) < 0)
        return ctr_error_wrap(err, "mask directory %s", *p);
    } else {
      cleanup_fd int null = open_devnull(root, err);
      if (null < 0 || (mnt = ctr_detached_clone(null, "", false, err)) < 0)
        return ctr_error_wrap(err, "mask %s", *p);
    }
    if (ctr_detached_attach(mnt, fd, *p, err) < 0)
      return -1;
  }
  return 0;
}

/* Each path's mount tree is cloned, made read-only all the way down while
 * detached, and attached back onto the fd it was resolved to. */
static int readonly_paths(int root, char **paths, ctr_error_t *err) {
  for (char **p = paths; p && *p; p++) {
    cleanup_fd int fd = -1;
    int found = open_setup_path(root, *p, "read-only", &fd, err);
    if (found < 0)
      return -1;
    if (found == 0)
      continue;
    cleanup_fd int tree = ctr_detached_clone(fd, "", true, err);
    if (tree < 0 ||
        ctr_detached_setattr(tree, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, *p, err) < 0 ||
        ctr_detached_attach(tree, fd, *p, err) < 0)
      return ctr_error_wrap(err, "make %s read-only", *p);
  }
  return 0;
}

static int protect_paths(const ctr_spawn_cfg_t *cfg, ctr_error_t *err) {
  cleanup_fd int root = open("/", O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (root < 0)
    return ctr_fail_errno(err, "open / of the container");
  if (mask_paths(root, cfg->masked_paths, err) < 0 ||
      readonly_paths(root, cfg->readonly_paths, err) < 0)
    return -1;
  return 0;
}

static int open_root(const ctr_spawn_cfg_t *cfg, ctr_error_t *err) {
  if (mount_root(cfg, err) < 0)
    return -1;
  int rootfd = open(cfg->rootfs, O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (rootfd < 0)
    return ctr_fail_errno(err, "open the root %s", cfg->rootfs);
  return rootfd;
}

/* The root the parent built (userns.h), attached on top of our / (the host
 * path of the root is not ours to look up). Returns its fd. */
static int attach_root(int made, const char *rootfs, ctr_error_t *err) {
  if (move_mount(made, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return ctr_fail_errno(err, "attach the root %s (move_mount)", rootfs);
  int fd = dup(made);
  if (fd < 0)
    return ctr_fail_errno(err, "dup the root's fd");
  return fd;
}

int ctr_rootfs_setup(const ctr_spawn_cfg_t *cfg, const int *fds, int pause_fd, ctr_error_t *err) {
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return ctr_fail_errno(err, "make / rprivate (mount propagation)");
  cleanup_fd int rootfd = fds ? attach_root(fds[0], cfg->rootfs, err) : open_root(cfg, err);
  if (rootfd < 0)
    return -1;
  for (size_t i = 0; i < cfg->nmounts; i++)
    if (do_mount(&cfg->mounts[i], fds ? fds[1 + i] : -1, rootfd, err) < 0)
      return -1;
  if (has_dev_tmpfs(cfg) && (make_devices(cfg, rootfd, err) < 0 || dev_symlinks(rootfd, err) < 0))
    return -1;
  if (pause_fd >= 0 && ctr_pause_for_hooks(pause_fd, err) < 0)
    return -1;
  if (do_pivot(rootfd, cfg->rootfs, err) < 0)
    return -1;
  if (protect_paths(cfg, err) < 0)
    return -1;
  if (cfg->readonly_root && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
    return ctr_fail_errno(err, "remount the root read-only");
  return 0;
}

/* The kernel's view of the cwd: a directory outside the root reads
 * "(unreachable)/..." (glibc's getcwd hides that as ENOENT). */
static int check_cwd_reachable(const char *path, ctr_error_t *err) {
  char buf[4096];
  long n = syscall(SYS_getcwd, buf, sizeof buf);
  if (n < 0)
    return ctr_fail_errno(err, "getcwd after entering the working directory %s", path);
  if (buf[0] != '/')
    return ctr_fail(err, EPERM,
                    "the working directory %s is outside the container's root: refusing it", path);
  return 0;
}

int ctr_enter_cwd(const char *path, bool create, ctr_error_t *err) {
  cleanup_fd int root = open("/", O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (root < 0)
    return ctr_fail_errno(err, "open /");
  cleanup_fd int dir = openat2_in_root(root, path, O_PATH | O_DIRECTORY, err);
  if (dir < 0 && create && err->errnum == ENOENT)
    dir = mkpath_in_root(root, path, false, err);
  if (dir < 0)
    return ctr_error_wrap(err, "working directory %s", path);
  if (fchdir(dir) < 0)
    return ctr_fail_errno(err, "chdir to the working directory %s", path);
  return check_cwd_reachable(path, err);
}
