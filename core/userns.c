/* userns.c - the parent's part of a container with a user namespace of its
 * own, and the child's receiving end (see userns.h). */
#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "detached.h"
#include "idmap.h"

/* The fds to send, owned until sent. */
typedef struct fdlist {
  int fd[CTR_USERNS_MAX_FDS + 1];
  size_t n;
} fdlist_t;

static void fdlist_close(fdlist_t *l) {
  for (size_t i = 0; i < l->n; i++)
    close(l->fd[i]);
  l->n = 0;
}

static int fdlist_add(fdlist_t *l, int fd, ctr_error_t *err) {
  if (l->n >= sizeof l->fd / sizeof *l->fd) {
    close(fd);
    return ctr_fail(err, E2BIG, "more than %d bind mounts in a container with a user namespace",
                    CTR_USERNS_MAX_FDS);
  }
  l->fd[l->n++] = fd;
  return 0;
}

/* Give the detached tree mnt the id mapping of the user namespace userns. */
static int set_idmap(int mnt, int userns, bool recursive, const char *what, ctr_error_t *err) {
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = (unsigned long long)userns;
  if (mount_setattr(mnt, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) <
      0)
    return ctr_fail_errno(err, "idmap the mount of %s (mount_setattr MOUNT_ATTR_IDMAP)", what);
  return 0;
}

/* Each lower layer cloned and idmapped, given to the overlay as an fd; the
 * clones stay open in keep until the overlay is made (closing the last fd of
 * a detached mount dissolves it). */
static int add_lowers(int fs, const char *lowers, int userns, fdlist_t *keep, ctr_error_t *err) {
  char buf[8192];
  if (snprintf(buf, sizeof buf, "%s", lowers) >= (int)sizeof buf)
    return ctr_fail(err, E2BIG, "overlay lower directories are too long");
  char *save = NULL;
  for (char *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    int layer = ctr_detached_clone(AT_FDCWD, dir, false, err);
    if (layer < 0 || fdlist_add(keep, layer, err) < 0 ||
        set_idmap(layer, userns, false, dir, err) < 0)
      return ctr_error_wrap(err, "overlay lower layer");
    if (fsconfig(fs, FSCONFIG_SET_FD, "lowerdir+", NULL, layer) < 0)
      return ctr_fail_errno(err, "overlay lower layer %s (fsconfig lowerdir+)", dir);
  }
  return 0;
}

static int set_dir_fd(int fs, const char *key, const char *dir, ctr_error_t *err) {
  cleanup_fd int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return ctr_fail_errno(err, "open the overlay %s %s", key, dir);
  if (fsconfig(fs, FSCONFIG_SET_FD, key, NULL, fd) < 0)
    return ctr_fail_errno(err, "overlay %s %s (fsconfig)", key, dir);
  return 0;
}

/* The overlay root, made here in the host's user namespace (so the layers'
 * trusted.overlay.* xattrs keep working) with idmapped lower layers: the
 * image's files, owned by 0 on disk, are owned by the container's root. The
 * upper directory is not idmapped: what the container writes lands with its
 * host ids. */
static int overlay_config(int fs, const ctr_spawn_cfg_t *cfg, int userns, fdlist_t *keep,
                          ctr_error_t *err);

static int overlay_root(const ctr_spawn_cfg_t *cfg, int userns, ctr_error_t *err) {
  cleanup_fd int fs = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fs < 0)
    return ctr_fail_errno(err, "fsopen overlay");
  fdlist_t keep = {.n = 0};
  int r = overlay_config(fs, cfg, userns, &keep, err);
  fdlist_close(&keep);
  if (r < 0)
    return -1;
  int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0)
    return ctr_fail_errno(err, "fsmount the overlay root of %s", cfg->rootfs);
  return mnt;
}

static int overlay_config(int fs, const ctr_spawn_cfg_t *cfg, int userns, fdlist_t *keep,
                          ctr_error_t *err) {
  if (add_lowers(fs, cfg->overlay_lower, userns, keep, err) < 0 ||
      set_dir_fd(fs, "upperdir", cfg->overlay_upper, err) < 0 ||
      set_dir_fd(fs, "workdir", cfg->overlay_work, err) < 0)
    return -1;
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
    ctr_fail_errno(err, "create the overlay root of %s", cfg->rootfs);
    ctr_detached_fs_messages(fs, err);
    return -1;
  }
  return 0;
}

static int root_mount(const ctr_spawn_cfg_t *cfg, int userns, ctr_error_t *err) {
  if (cfg->overlay_lower)
    return overlay_root(cfg, userns, err);
  return ctr_detached_clone(AT_FDCWD, cfg->rootfs, true, err);
}

/* A bind mount's source cloned on the host, idmapped when asked, with its
 * flags and propagation set: the child only attaches it. */
static int bind_fd(const ctr_mount_t *m, int userns, ctr_error_t *err) {
  bool rec = (m->flags & MS_REC) != 0;
  cleanup_fd int tree = ctr_detached_clone(AT_FDCWD, m->source, rec, err);
  if (tree < 0)
    return ctr_error_wrap(err, "bind mount source %s", m->source);
  if (m->idmap && set_idmap(tree, userns, rec, m->source, err) < 0)
    return -1;
  if (ctr_detached_setattr(tree, m->flags, m->propagation, m->destination, err) < 0)
    return -1;
  return steal_fd(&tree);
}

static int build_fds(const ctr_spawn_cfg_t *cfg, int userns, fdlist_t *l, ctr_error_t *err) {
  if (cfg->rootfs) {
    int root = root_mount(cfg, userns, err);
    if (root < 0 || fdlist_add(l, root, err) < 0)
      return -1;
  }
  for (size_t i = 0; i < cfg->nmounts; i++) {
    if (!cfg->mounts[i].bind)
      continue;
    int fd = bind_fd(&cfg->mounts[i], userns, err);
    if (fd < 0 || fdlist_add(l, fd, err) < 0)
      return -1;
  }
  return 0;
}

static int send_fds(int sync_fd, const fdlist_t *l, ctr_error_t *err) {
  char kind = 'M';
  struct iovec io = {.iov_base = &kind, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int) * (CTR_USERNS_MAX_FDS + 1))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &io, .msg_iovlen = 1};
  if (l->n > 0) {
    msg.msg_control = u.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * l->n);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * l->n);
    memcpy(CMSG_DATA(c), l->fd, sizeof(int) * l->n);
  }
  if (sendmsg(sync_fd, &msg, MSG_NOSIGNAL) < 0)
    return ctr_fail_errno(err, "send the mounts to the container process");
  return 0;
}

/* Write pid (not "0": the child may not write host files) to each file. */
static int move_to_cgroups(char **files, pid_t pid, ctr_error_t *err) {
  char text[32];
  snprintf(text, sizeof text, "%d", (int)pid);
  for (char **f = files; f && *f; f++) {
    cleanup_fd int fd = open(*f, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
      return ctr_fail_errno(err, "open %s", *f);
    if (write(fd, text, strlen(text)) < 0)
      return ctr_fail_errno(err, "move pid %s into the cgroup (%s)", text, *f);
  }
  return 0;
}

/* newuidmap/newgidmap PID INSIDE OUTSIDE COUNT...: the setuid helpers of
 * Debian's uidmap check the map against the caller's subordinate ids. */
static int run_map_helper(const char *helper, pid_t pid, const char *map, ctr_error_t *err) {
  char buf[4096], pidtext[16];
  if (snprintf(buf, sizeof buf, "%s", map) >= (int)sizeof buf)
    return ctr_fail(err, E2BIG, "%s: map too long", helper);
  snprintf(pidtext, sizeof pidtext, "%d", (int)pid);
  char *argv[3 + 3 * 64] = {(char *)helper, pidtext};
  size_t n = 2;
  char *save = NULL;
  for (char *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
    if (n >= sizeof argv / sizeof *argv - 1)
      return ctr_fail(err, E2BIG, "%s: too many map entries", helper);
    argv[n++] = t;
  }
  argv[n] = NULL;
  pid_t child = fork();
  if (child < 0)
    return ctr_fail_errno(err, "fork for %s", helper);
  if (child == 0) {
    execvp(helper, argv);
    dprintf(2, "luac-ctr: cannot run %s: %s (Debian: apt-get install uidmap)\n", helper,
            strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0)
    if (errno != EINTR)
      return ctr_fail_errno(err, "wait for %s", helper);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return ctr_fail(err, EPERM, "%s %s failed (exit %d): are the ids in /etc/sub%cid?", helper,
                    pidtext, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                    helper[3] == 'u' ? 'u' : 'g');
  return 0;
}

int ctr_userns_prepare(const ctr_spawn_cfg_t *cfg, pid_t pid, int sync_fd, bool rootless,
                       ctr_error_t *err) {
  if (!cfg->uid_map || !cfg->gid_map)
    return ctr_fail(err, EINVAL, "a user namespace needs linux.uidMappings and linux.gidMappings");
  if (rootless) {
    fdlist_t none = {.n = 0};
    if (run_map_helper("newuidmap", pid, cfg->uid_map, err) < 0 ||
        run_map_helper("newgidmap", pid, cfg->gid_map, err) < 0)
      return -1;
    return send_fds(sync_fd, &none, err);
  }
  if (ctr_write_idmap(pid, "uid_map", cfg->uid_map, err) < 0 ||
      ctr_write_idmap(pid, "gid_map", cfg->gid_map, err) < 0)
    return ctr_error_wrap(err, "the container's id mappings");
  if (move_to_cgroups(cfg->cgroup_join, pid, err) < 0)
    return -1;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
  cleanup_fd int userns = open(path, O_RDONLY | O_CLOEXEC);
  if (userns < 0)
    return ctr_fail_errno(err, "open the container's user namespace %s", path);
  fdlist_t l = {.n = 0};
  int r = build_fds(cfg, userns, &l, err);
  if (r == 0)
    r = send_fds(sync_fd, &l, err);
  fdlist_close(&l);
  return r;
}

static int expected_fds(const ctr_spawn_cfg_t *cfg, bool rootless) {
  if (rootless)
    return 0;
  int n = cfg->rootfs ? 1 : 0;
  for (size_t i = 0; i < cfg->nmounts; i++)
    n += cfg->mounts[i].bind ? 1 : 0;
  return n;
}

/* Place the received fds: root first, then the bind mounts in order. */
static void place_fds(const ctr_spawn_cfg_t *cfg, const int *got, int *fds) {
  int k = 0;
  fds[0] = cfg->rootfs ? got[k++] : -1;
  for (size_t i = 0; i < cfg->nmounts; i++)
    fds[1 + i] = cfg->mounts[i].bind ? got[k++] : -1;
}

int ctr_userns_receive(const ctr_spawn_cfg_t *cfg, int sync_fd, int *fds, bool rootless,
                       ctr_error_t *err) {
  char kind = 0;
  struct iovec io = {.iov_base = &kind, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int) * (CTR_USERNS_MAX_FDS + 1))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {
      .msg_iov = &io, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t n;
  do
    n = recvmsg(sync_fd, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  // cppcheck-suppress knownConditionTrueFalse ; kind is written by recvmsg
  if (n != 1 || kind != 'M')
    return ctr_fail(err, EPROTO, "no mounts from the parent");
  int want = expected_fds(cfg, rootless), have = 0;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
    have = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
  if (have != want || (msg.msg_flags & MSG_CTRUNC))
    return ctr_fail(err, EPROTO, "got %d mount fds from the parent, expected %d", have, want);
  int got[CTR_USERNS_MAX_FDS + 1];
  if (have > 0)
    memcpy(got, CMSG_DATA(c), sizeof(int) * (size_t)have);
  if (!rootless)
    place_fds(cfg, got, fds);
  return 0;
}

int ctr_userns_become_root(ctr_error_t *err) {
  if (setresgid(0, 0, 0) < 0)
    return ctr_fail_errno(err, "setresgid 0 in the container's user namespace");
  if (setresuid(0, 0, 0) < 0)
    return ctr_fail_errno(err, "setresuid 0 in the container's user namespace");
  return 0;
}
