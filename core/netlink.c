/* netlink.c - rtnetlink requests (libmnl): links, IPv4 addresses, routes.
 * See netlink.h. One socket per call; the requests of a call that go together
 * are sent as one batch (one sendto) and their ACKs read together;
 * namespace-targeted requests run in a short-lived thread that setns()es into
 * the target (no process is made). */
#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if_arp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#define NL_BUFSZ 8192

/* if_nametoindex without pulling <net/if.h> (it clashes with <linux/if.h>). */
extern unsigned int if_nametoindex(const char *ifname);

CTR_DEFINE_CLEANUP(mnl_closep, struct mnl_socket, mnl_socket_close)
#define cleanup_mnl __attribute__((cleanup(mnl_closep)))

/* ---- batches: requests sent in one sendto, their ACKs read together -------- */

#define NL_BATCH_MAX 6
#define NL_MSG_MAX 512 /* the largest request built here is ~150 bytes */

typedef struct nl_batch {
  char buf[NL_BUFSZ];
  size_t len;
  int n;
  unsigned seq0;
  char what[NL_BATCH_MAX][128];
} nl_batch_t;

static void batch_init(nl_batch_t *b) {
  b->len = 0;
  b->n = 0;
  b->seq0 = (unsigned)time(NULL);
}

/* The next request of the batch (zeroed, REQUEST|ACK, its own sequence
 * number), or NULL when the batch is full. */
static struct nlmsghdr *batch_put(nl_batch_t *b, uint16_t type, uint16_t flags) {
  if (b->n == NL_BATCH_MAX || b->len + NL_MSG_MAX > sizeof b->buf)
    return NULL;
  memset(b->buf + b->len, 0, NL_MSG_MAX);
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(b->buf + b->len);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags | NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = b->seq0 + (unsigned)b->n;
  return nlh;
}

/* Close the request batch_put gave: what it does (printf's fmt and
 * arguments) names it in an error. */
__attribute__((format(printf, 3, 4))) static void batch_end(nl_batch_t *b, struct nlmsghdr *nlh,
                                                            const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->what[b->n], sizeof b->what[b->n], fmt, ap);
  va_end(ap);
  b->len += NLMSG_ALIGN(nlh->nlmsg_len);
  b->n++;
}

static int batch_full(ctr_error_t *err) {
  return ctr_fail(err, ENOBUFS, "netlink: too many requests in one batch");
}

/* Send the batch on nl and read an ACK for each request; the kernel runs
 * them in order, each whatever became of the others. Fails with the first
 * request the kernel refused ("what: strerror"). */
static int batch_send(struct mnl_socket *nl, nl_batch_t *b, ctr_error_t *err) {
  if (b->n == 0)
    return 0;
  if (mnl_socket_sendto(nl, b->buf, b->len) < 0)
    return ctr_fail_errno(err, "%s: sending the netlink request", b->what[0]);
  char buf[NL_BUFSZ];
  unsigned portid = mnl_socket_get_portid(nl);
  int acked = 0, bad = -1, bad_errno = 0;
  while (acked < b->n) {
    ssize_t r = mnl_socket_recvfrom(nl, buf, sizeof buf);
    if (r < 0)
      return ctr_fail_errno(err, "%s: receiving the netlink reply", b->what[acked]);
    int len = (int)r;
    for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(h, len);
         h = mnl_nlmsg_next(h, &len)) {
      unsigned i = h->nlmsg_seq - b->seq0;
      if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_pid != portid || i >= (unsigned)b->n)
        continue;
      if (mnl_nlmsg_get_payload_len(h) < sizeof(struct nlmsgerr))
        return ctr_fail(err, EBADMSG, "%s: a truncated netlink reply", b->what[i]);
      const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
      if (e->error != 0 && (bad < 0 || (int)i < bad)) {
        bad = (int)i;
        bad_errno = -e->error;
      }
      acked++;
    }
  }
  if (bad >= 0)
    return ctr_fail(err, bad_errno, "%s", b->what[bad]);
  return 0;
}

/* A NETLINK_ROUTE socket of the calling thread's network namespace. */
static struct mnl_socket *nl_open(const char *what, ctr_error_t *err) {
  struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
  if (nl == NULL) {
    ctr_fail_errno(err, "%s: opening a netlink socket", what);
    return NULL;
  }
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    ctr_fail_errno(err, "%s: binding the netlink socket", what);
    mnl_closep(&nl);
  }
  return nl;
}

/* Send a batch on a socket of its own. */
static int batch_run(nl_batch_t *b, ctr_error_t *err) {
  if (b->n == 0)
    return 0;
  cleanup_mnl struct mnl_socket *nl = nl_open(b->what[0], err);
  if (nl == NULL)
    return -1;
  return batch_send(nl, b, err);
}

static struct nlmsghdr *link_put(nl_batch_t *b, uint16_t type, uint16_t flags, int index) {
  struct nlmsghdr *nlh = batch_put(b, type, flags);
  if (nlh == NULL)
    return NULL;
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = index;
  return nlh;
}

static int check_name(const char *name, ctr_error_t *err) {
  if (name == NULL || name[0] == '\0' || strlen(name) >= IFNAMSIZ || strchr(name, '/'))
    return ctr_fail(err, EINVAL, "bad interface name '%s' (1-%d characters, no '/')",
                    name ? name : "(null)", IFNAMSIZ - 1);
  return 0;
}

int ctr_nl_link_index(const char *name, ctr_error_t *err) {
  if (check_name(name, err) < 0)
    return -1;
  unsigned idx = if_nametoindex(name);
  if (idx == 0)
    return ctr_fail_errno(err, "looking up link %s", name);
  return (int)idx;
}

/* ---- running requests inside another network namespace -------------------- */

typedef struct nl_args {
  const char *a;
  const char *b;
  int up;
  const ctr_iface_conf_t *conf;
} nl_args_t;
typedef int (*nl_fn)(const nl_args_t *args, char *out, size_t outlen, ctr_error_t *err);

typedef struct netns_job {
  int nsfd;
  nl_fn fn;
  const nl_args_t *args;
  int rc;
  ctr_error_t err;
  char out[64];
} netns_job_t;

static int open_netns(ctr_netns_t ns, ctr_error_t *err) {
  if (ns.fd >= 0) {
    int fd = fcntl(ns.fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
      return ctr_fail_errno(err, "duplicating netns fd %d", ns.fd);
    return fd;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/net", (int)ns.pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ctr_fail_errno(err, "opening %s", path);
  return fd;
}

/* The thread: a network namespace is per thread, so setns() here moves only
 * this thread, which ends with the job; the caller's never changes. */
static void *netns_thread(void *p) {
  netns_job_t *j = p;
  if (setns(j->nsfd, CLONE_NEWNET) < 0)
    j->rc = ctr_fail_errno(&j->err, "setns into the network namespace");
  else
    j->rc = j->fn(j->args, j->out, sizeof j->out, &j->err);
  return NULL;
}

static int in_netns(ctr_netns_t ns, nl_fn fn, const nl_args_t *args, char *out, size_t outlen,
                    ctr_error_t *err) {
  if (ns.fd < 0 && ns.pid <= 0)
    return fn(args, out, outlen, err);
  cleanup_fd int nsfd = open_netns(ns, err);
  if (nsfd < 0)
    return -1;
  netns_job_t j = {.nsfd = nsfd, .fn = fn, .args = args};
  /* the thread takes no signal: every one stays the caller's to handle */
  sigset_t all, old;
  sigfillset(&all);
  int e = pthread_sigmask(SIG_SETMASK, &all, &old);
  if (e != 0)
    return ctr_fail(err, e, "blocking signals for the netns thread");
  pthread_t t;
  int ce = pthread_create(&t, NULL, netns_thread, &j);
  e = pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (ce != 0)
    return ctr_fail(err, ce, "starting the netns thread");
  int je = pthread_join(t, NULL);
  if (je != 0)
    return ctr_fail(err, je, "joining the netns thread");
  if (e != 0)
    return ctr_fail(err, e, "restoring the signal mask");
  if (j.rc < 0) {
    *err = j.err;
    return ctr_error_wrap(err, "in the network namespace of %s %d", ns.fd >= 0 ? "fd" : "pid",
                          ns.fd >= 0 ? ns.fd : (int)ns.pid);
  }
  if (out != NULL && outlen > 0)
    snprintf(out, outlen, "%s", j.out);
  return 0;
}

/* ---- links ----------------------------------------------------------------- */

int ctr_nl_link_add_bridge(const char *name, ctr_error_t *err) {
  if (check_name(name, err) < 0)
    return -1;
  nl_batch_t b;
  batch_init(&b);
  struct nlmsghdr *nlh = link_put(&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(nlh, info);
  batch_end(&b, nlh, "creating bridge %s", name);
  return batch_run(&b, err);
}

/* The peer's part of a veth request: its name and, when given, its netns. */
static void put_veth_peer(struct nlmsghdr *nlh, const ctr_veth_conf_t *c) {
  struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(nlh, sizeof *pifi);
  pifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, c->peer);
  if (c->peer_ns.fd >= 0)
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)c->peer_ns.fd);
  else if (c->peer_ns.pid > 0)
    mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)c->peer_ns.pid);
  mnl_attr_nest_end(nlh, peer);
}

/* Hairpin mode of the bridge port name (found by name: it may be the link
 * an earlier request of the same batch made), as bridge_slave options. */
static int put_hairpin(nl_batch_t *b, const char *name, int idx, int on) {
  struct nlmsghdr *nlh = link_put(b, RTM_NEWLINK, 0, idx);
  if (nlh == NULL)
    return -1;
  if (idx == 0)
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_SLAVE_KIND, "bridge");
  struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_SLAVE_DATA);
  mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, info);
  batch_end(b, nlh, "setting hairpin mode of %s %s", name, on ? "on" : "off");
  return 0;
}

int ctr_nl_link_add_veth_conf(const ctr_veth_conf_t *c, ctr_error_t *err) {
  if (check_name(c->host, err) < 0 || check_name(c->peer, err) < 0)
    return -1;
  int midx = 0;
  if (c->master != NULL && (midx = ctr_nl_link_index(c->master, err)) < 0)
    return -1;
  nl_batch_t b;
  batch_init(&b);
  struct nlmsghdr *nlh = link_put(&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = c->up ? IFF_UP : 0;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, c->host);
  if (midx > 0)
    mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)midx);
  struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  put_veth_peer(nlh, c);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, info);
  if (c->peer_ns.fd >= 0 || c->peer_ns.pid > 0)
    batch_end(&b, nlh, "creating veth pair %s <-> %s (in the netns of %s %d)", c->host, c->peer,
              c->peer_ns.fd >= 0 ? "fd" : "pid",
              c->peer_ns.fd >= 0 ? c->peer_ns.fd : (int)c->peer_ns.pid);
  else
    batch_end(&b, nlh, "creating veth pair %s <-> %s", c->host, c->peer);
  /* in the same batch: the kernel runs it once the pair exists */
  if (c->hairpin && midx > 0 && put_hairpin(&b, c->host, 0, 1) < 0)
    return batch_full(err);
  return batch_run(&b, err);
}

int ctr_nl_link_add_veth(const char *a, const char *b, ctr_error_t *err) {
  ctr_veth_conf_t c = {.host = a, .peer = b, .peer_ns = CTR_NETNS_SELF};
  return ctr_nl_link_add_veth_conf(&c, err);
}

static int put_set_up(nl_batch_t *b, const char *name, int idx, int up) {
  struct nlmsghdr *nlh = link_put(b, RTM_NEWLINK, 0, idx);
  if (nlh == NULL)
    return -1;
  struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = up ? IFF_UP : 0;
  batch_end(b, nlh, "setting link %s %s", name, up ? "up" : "down");
  return 0;
}

static int do_set_up(const nl_args_t *args, char *out, size_t outlen, ctr_error_t *err) {
  (void)out, (void)outlen;
  int idx = ctr_nl_link_index(args->a, err);
  if (idx < 0)
    return -1;
  nl_batch_t b;
  batch_init(&b);
  put_set_up(&b, args->a, idx, args->up);
  return batch_run(&b, err);
}

int ctr_nl_link_set_up(const char *name, int up, ctr_netns_t ns, ctr_error_t *err) {
  nl_args_t args = {.a = name, .up = up};
  return in_netns(ns, do_set_up, &args, NULL, 0, err);
}

int ctr_nl_link_set_master(const char *name, const char *master, ctr_error_t *err) {
  int idx = ctr_nl_link_index(name, err);
  if (idx < 0)
    return -1;
  int midx = 0;
  if (master != NULL && (midx = ctr_nl_link_index(master, err)) < 0)
    return -1;
  nl_batch_t b;
  batch_init(&b);
  struct nlmsghdr *nlh = link_put(&b, RTM_NEWLINK, 0, idx);
  mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)midx);
  batch_end(&b, nlh, "attaching link %s to %s", name, master ? master : "no master");
  return batch_run(&b, err);
}

int ctr_nl_link_set_hairpin(const char *name, int on, ctr_error_t *err) {
  int idx = ctr_nl_link_index(name, err);
  if (idx < 0)
    return -1;
  nl_batch_t b;
  batch_init(&b);
  put_hairpin(&b, name, idx, on);
  return batch_run(&b, err);
}

int ctr_nl_link_set_netns(const char *name, ctr_netns_t ns, ctr_error_t *err) {
  int idx = ctr_nl_link_index(name, err);
  if (idx < 0)
    return -1;
  if (ns.fd < 0 && ns.pid <= 0)
    return ctr_fail(err, EINVAL, "moving link %s: no target namespace (fd or pid)", name);
  nl_batch_t b;
  batch_init(&b);
  struct nlmsghdr *nlh = link_put(&b, RTM_NEWLINK, 0, idx);
  if (ns.fd >= 0)
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)ns.fd);
  else
    mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)ns.pid);
  batch_end(&b, nlh, "moving link %s into the netns of %s %d", name, ns.fd >= 0 ? "fd" : "pid",
            ns.fd >= 0 ? ns.fd : (int)ns.pid);
  return batch_run(&b, err);
}

static int put_rename(nl_batch_t *b, const char *name, int idx, const char *newname) {
  struct nlmsghdr *nlh = link_put(b, RTM_NEWLINK, 0, idx);
  if (nlh == NULL)
    return -1;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, newname);
  batch_end(b, nlh, "renaming link %s to %s", name, newname);
  return 0;
}

static int do_rename(const nl_args_t *args, char *out, size_t outlen, ctr_error_t *err) {
  (void)out, (void)outlen;
  if (check_name(args->b, err) < 0)
    return -1;
  int idx = ctr_nl_link_index(args->a, err);
  if (idx < 0)
    return -1;
  nl_batch_t b;
  batch_init(&b);
  put_rename(&b, args->a, idx, args->b);
  return batch_run(&b, err);
}

int ctr_nl_link_rename(const char *name, const char *newname, ctr_netns_t ns, ctr_error_t *err) {
  nl_args_t args = {.a = name, .b = newname};
  return in_netns(ns, do_rename, &args, NULL, 0, err);
}

int ctr_nl_link_del(const char *name, ctr_error_t *err) {
  int idx = ctr_nl_link_index(name, err);
  if (idx < 0)
    return -1;
  nl_batch_t b;
  batch_init(&b);
  struct nlmsghdr *nlh = link_put(&b, RTM_DELLINK, 0, idx);
  batch_end(&b, nlh, "deleting link %s", name);
  return batch_run(&b, err);
}

/* Has the link (ifindex idx) been deleted, by what buf (n bytes of link
 * notifications) says? */
static int dellink_of(const char *buf, int n, int idx) {
  for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(h, n);
       h = mnl_nlmsg_next(h, &n)) {
    if (h->nlmsg_type != RTM_DELLINK || mnl_nlmsg_get_payload_len(h) < sizeof(struct ifinfomsg))
      continue;
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
    if (ifi->ifi_index == idx)
      return 1;
  }
  return 0;
}

static long ms_since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int ctr_nl_link_wait_gone(const char *name, int timeout_ms, ctr_error_t *err) {
  if (check_name(name, err) < 0)
    return -1;
  char what[64];
  snprintf(what, sizeof what, "waiting for link %s to go", name);
  cleanup_mnl struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (nl == NULL)
    return ctr_fail_errno(err, "%s: opening a netlink socket", what);
  /* subscribed before the lookup: a deletion after it is never missed */
  if (mnl_socket_bind(nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0)
    return ctr_fail_errno(err, "%s: binding the netlink socket", what);
  unsigned idx = if_nametoindex(name);
  if (idx == 0)
    return errno == ENODEV ? 1 : ctr_fail_errno(err, "looking up link %s", name);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  char buf[NL_BUFSZ];
  for (long left = timeout_ms; left > 0; left = timeout_ms - ms_since(&t0)) {
    struct pollfd pfd = {.fd = mnl_socket_get_fd(nl), .events = POLLIN};
    int r = poll(&pfd, 1, (int)left);
    if (r < 0 && errno != EINTR)
      return ctr_fail_errno(err, "%s: poll", what);
    for (;;) {
      ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
      if (n < 0 && errno == ENOBUFS) /* notifications were lost: look again */
        break;
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        break;
      if (n < 0)
        return ctr_fail_errno(err, "%s: receiving link notifications", what);
      if (dellink_of(buf, (int)n, (int)idx))
        return 1;
    }
    if (if_nametoindex(name) != idx)
      return 1;
  }
  return 0;
}

/* ---- addresses and routes ------------------------------------------------- */

static int parse_cidr(const char *cidr, struct in_addr *a, int *plen, ctr_error_t *err) {
  char ip[INET_ADDRSTRLEN];
  const char *slash = cidr ? strchr(cidr, '/') : NULL;
  size_t n = slash ? (size_t)(slash - cidr) : 0;
  char *end = NULL;
  long len = slash ? strtol(slash + 1, &end, 10) : -1;
  if (slash == NULL || n == 0 || n >= sizeof ip || end == slash + 1 || *end != '\0' || len < 0 ||
      len > 32)
    return ctr_fail(err, EINVAL, "bad IPv4 address/prefix '%s' (want a.b.c.d/len)",
                    cidr ? cidr : "(null)");
  memcpy(ip, cidr, n);
  ip[n] = '\0';
  if (inet_pton(AF_INET, ip, a) != 1)
    return ctr_fail(err, EINVAL, "bad IPv4 address '%s'", ip);
  *plen = (int)len;
  return 0;
}

/* Add address cidr (already checked: a, plen) to link name (ifindex idx). */
static int put_addr_add(nl_batch_t *b, const char *name, int idx, const char *cidr,
                        struct in_addr a, int plen) {
  struct nlmsghdr *nlh = batch_put(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  if (nlh == NULL)
    return -1;
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = (unsigned char)plen;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = (unsigned)idx;
  mnl_attr_put(nlh, IFA_LOCAL, sizeof a, &a);
  mnl_attr_put(nlh, IFA_ADDRESS, sizeof a, &a);
  if (plen < 31) {
    uint32_t host = plen == 0 ? 0xffffffffu : (1u << (32 - plen)) - 1;
    struct in_addr brd = {.s_addr = a.s_addr | htonl(host)};
    mnl_attr_put(nlh, IFA_BROADCAST, sizeof brd, &brd);
  }
  batch_end(b, nlh, "adding address %s to %s", cidr, name);
  return 0;
}

static int do_addr_add(const nl_args_t *args, char *out, size_t outlen, ctr_error_t *err) {
  (void)out, (void)outlen;
  struct in_addr a;
  int plen = 0;
  if (parse_cidr(args->b, &a, &plen, err) < 0)
    return -1;
  int idx = ctr_nl_link_index(args->a, err);
  if (idx < 0)
    return -1;
  nl_batch_t b;
  batch_init(&b);
  put_addr_add(&b, args->a, idx, args->b, a, plen);
  return batch_run(&b, err);
}

int ctr_nl_addr_add(const char *ifname, const char *cidr, ctr_netns_t ns, ctr_error_t *err) {
  nl_args_t args = {.a = ifname, .b = cidr};
  return in_netns(ns, do_addr_add, &args, NULL, 0, err);
}

static int check_gateway(const char *gw, struct in_addr *a, ctr_error_t *err) {
  if (gw == NULL || inet_pton(AF_INET, gw, a) != 1)
    return ctr_fail(err, EINVAL, "bad IPv4 gateway '%s'", gw ? gw : "(null)");
  return 0;
}

static int put_route_default(nl_batch_t *b, const char *gwtext, struct in_addr gw) {
  struct nlmsghdr *nlh = batch_put(b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  if (nlh == NULL)
    return -1;
  struct rtmsg *rt = mnl_nlmsg_put_extra_header(nlh, sizeof *rt);
  rt->rtm_family = AF_INET;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  mnl_attr_put(nlh, RTA_GATEWAY, sizeof gw, &gw);
  batch_end(b, nlh, "adding the default route via %s", gwtext);
  return 0;
}

static int do_route_default(const nl_args_t *args, char *out, size_t outlen, ctr_error_t *err) {
  (void)out, (void)outlen;
  struct in_addr gw;
  if (check_gateway(args->a, &gw, err) < 0)
    return -1;
  nl_batch_t b;
  batch_init(&b);
  put_route_default(&b, args->a, gw);
  return batch_run(&b, err);
}

int ctr_nl_route_add_default(const char *gw, ctr_netns_t ns, ctr_error_t *err) {
  nl_args_t args = {.a = gw};
  return in_netns(ns, do_route_default, &args, NULL, 0, err);
}

/* ---- the container end in one go ------------------------------------------ */

static int read_mac(const char *name, char *out, size_t outlen, ctr_error_t *err) {
  cleanup_fd int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return ctr_fail_errno(err, "socket for reading the MAC of %s", name);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
  if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
    return ctr_fail_errno(err, "reading the MAC address of %s", name);
  const unsigned char *m = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
  snprintf(out, outlen, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return 0;
}

/* lo up; then ifname renamed, its address added, it set up, the default
 * route added: one batch, every input checked before anything is sent. */
static int do_configure(const nl_args_t *args, char *out, size_t outlen, ctr_error_t *err) {
  const ctr_iface_conf_t *c = args->conf;
  int lo = ctr_nl_link_index("lo", err);
  if (lo < 0)
    return -1;
  nl_batch_t b;
  batch_init(&b);
  put_set_up(&b, "lo", lo, 1);
  if (c->ifname == NULL)
    return batch_run(&b, err);
  const char *name = c->name ? c->name : c->ifname;
  struct in_addr a, gw;
  int plen = 0;
  if ((strcmp(name, c->ifname) != 0 && check_name(name, err) < 0) ||
      (c->addr && parse_cidr(c->addr, &a, &plen, err) < 0) ||
      (c->gateway && check_gateway(c->gateway, &gw, err) < 0))
    return -1;
  int idx = ctr_nl_link_index(c->ifname, err);
  if (idx < 0)
    return -1;
  if ((strcmp(name, c->ifname) != 0 && put_rename(&b, c->ifname, idx, name) < 0) ||
      (c->addr && put_addr_add(&b, name, idx, c->addr, a, plen) < 0) ||
      put_set_up(&b, name, idx, 1) < 0 || (c->gateway && put_route_default(&b, c->gateway, gw) < 0))
    return batch_full(err);
  if (batch_run(&b, err) < 0)
    return -1;
  return out ? read_mac(name, out, outlen, err) : 0;
}

int ctr_nl_configure_iface(const ctr_iface_conf_t *c, char *mac, ctr_error_t *err) {
  if (c->ns.fd < 0 && c->ns.pid <= 0)
    return ctr_fail(err, EINVAL, "configuring a container interface: no target namespace");
  nl_args_t args = {.conf = c};
  char macbuf[64] = "";
  if (in_netns(c->ns, do_configure, &args, macbuf, sizeof macbuf, err) < 0)
    return -1;
  if (mac)
    snprintf(mac, 18, "%s", macbuf);
  return 0;
}
