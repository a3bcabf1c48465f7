/* netlink.c - rtnetlink requests (libmnl): links, IPv4 addresses, routes.
 * See netlink.h. One socket per request; namespace-targeted requests run in
 * a forked child that setns()es into the target and reports through a pipe. */
#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if_arp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#define NL_BUFSZ 8192

/* if_nametoindex without pulling <net/if.h> (it clashes with <linux/if.h>). */
extern unsigned int if_nametoindex(const char *ifname);

static void mnl_closep(struct mnl_socket **s) {
  if (*s) {
    int saved = errno;
    mnl_socket_close(*s);
    errno = saved;
    *s = NULL;
  }
}
#define cleanup_mnl __attribute__((cleanup(mnl_closep)))

/* ---- one request, one ACK ------------------------------------------------- */

static int nl_wait_ack(struct mnl_socket *nl, unsigned seq, const char *what, ctr_error_t *err) {
  char buf[NL_BUFSZ];
  unsigned portid = mnl_socket_get_portid(nl);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
    if (n < 0)
      return ctr_fail_errno(err, "%s: receiving the netlink reply", what);
    int r = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL);
    if (r < 0)
      return ctr_fail_errno(err, "%s", what);
    if (r == MNL_CB_STOP)
      return 0;
  }
}

static int nl_request(struct nlmsghdr *nlh, const char *what, ctr_error_t *err) {
  cleanup_mnl struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
  if (nl == NULL)
    return ctr_fail_errno(err, "%s: opening a netlink socket", what);
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
    return ctr_fail_errno(err, "%s: binding the netlink socket", what);
  unsigned seq = (unsigned)time(NULL);
  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = seq;
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
    return ctr_fail_errno(err, "%s: sending the netlink request", what);
  return nl_wait_ack(nl, seq, what, err);
}

static struct nlmsghdr *link_msg(char *buf, uint16_t type, uint16_t flags, int index) {
  memset(buf, 0, NL_BUFSZ);
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
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

/* ---- running a request inside another network namespace ------------------ */

typedef struct nl_args {
  const char *a;
  const char *b;
  int up;
  const ctr_iface_conf_t *conf;
} nl_args_t;
typedef int (*nl_fn)(const nl_args_t *args, char *out, size_t outlen, ctr_error_t *err);

typedef struct child_report {
  int rc;
  ctr_error_t err;
  char out[64];
} child_report_t;

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

static void child_run(int nsfd, int wfd, nl_fn fn, const nl_args_t *args) {
  child_report_t r;
  memset(&r, 0, sizeof r);
  if (setns(nsfd, CLONE_NEWNET) < 0)
    r.rc = ctr_fail_errno(&r.err, "setns into the network namespace");
  else
    r.rc = fn(args, r.out, sizeof r.out, &r.err);
  ssize_t n = write(wfd, &r, sizeof r);
  _exit(n == (ssize_t)sizeof r ? 0 : 1);
}

static int collect_child(pid_t child, int rfd, child_report_t *r, ctr_error_t *err) {
  ssize_t n;
  do
    n = read(rfd, r, sizeof *r);
  while (n < 0 && errno == EINTR);
  int saved = errno, status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR)
    ;
  errno = saved;
  if (n < 0)
    return ctr_fail_errno(err, "reading the netns helper's report");
  if (n != (ssize_t)sizeof *r)
    return ctr_fail(err, EIO, "the netns helper (pid %d) died without a report (status %d)",
                    (int)child, status);
  return 0;
}

/* fork(), retried for up to ~1 s while it fails with EAGAIN (a pids cgroup or
 * the system briefly at its process limit). */
static pid_t fork_retrying(void) {
  for (int i = 0;; i++) {
    pid_t child = fork();
    if (child >= 0 || errno != EAGAIN || i == 20)
      return child;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

static int in_netns(ctr_netns_t ns, nl_fn fn, const nl_args_t *args, char *out, size_t outlen,
                    ctr_error_t *err) {
  if (ns.fd < 0 && ns.pid <= 0)
    return fn(args, out, outlen, err);
  cleanup_fd int nsfd = open_netns(ns, err);
  if (nsfd < 0)
    return -1;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return ctr_fail_errno(err, "pipe for the netns helper");
  cleanup_fd int rfd = p[0];
  cleanup_fd int wfd = p[1];
  pid_t child = fork_retrying();
  if (child < 0)
    return ctr_fail_errno(err, "fork for the netns helper");
  if (child == 0)
    child_run(nsfd, wfd, fn, args);
  ctr_close_fdp(&wfd);
  child_report_t r;
  if (collect_child(child, rfd, &r, err) < 0)
    return -1;
  if (r.rc < 0) {
    *err = r.err;
    return ctr_error_wrap(err, "in the network namespace of %s %d", ns.fd >= 0 ? "fd" : "pid",
                          ns.fd >= 0 ? ns.fd : (int)ns.pid);
  }
  if (out != NULL && outlen > 0)
    snprintf(out, outlen, "%s", r.out);
  return 0;
}

/* ---- links ----------------------------------------------------------------- */

int ctr_nl_link_add_bridge(const char *name, ctr_error_t *err) {
  if (check_name(name, err) < 0)
    return -1;
  char buf[NL_BUFSZ];
  struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(nlh, info);
  char what[64];
  snprintf(what, sizeof what, "creating bridge %s", name);
  return nl_request(nlh, what, err);
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

int ctr_nl_link_add_veth_conf(const ctr_veth_conf_t *c, ctr_error_t *err) {
  if (check_name(c->host, err) < 0 || check_name(c->peer, err) < 0)
    return -1;
  int midx = 0;
  if (c->master != NULL && (midx = ctr_nl_link_index(c->master, err)) < 0)
    return -1;
  char buf[NL_BUFSZ];
  struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
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
  char what[128];
  if (c->peer_ns.fd >= 0 || c->peer_ns.pid > 0)
    snprintf(what, sizeof what, "creating veth pair %s <-> %s (in the netns of %s %d)", c->host,
             c->peer, c->peer_ns.fd >= 0 ? "fd" : "pid",
             c->peer_ns.fd >= 0 ? c->peer_ns.fd : (int)c->peer_ns.pid);
  else
    snprintf(what, sizeof what, "creating veth pair %s <-> %s", c->host, c->peer);
  return nl_request(nlh, what, err);
}

int ctr_nl_link_add_veth(const char *a, const char *b, ctr_error_t *err) {
  ctr_veth_conf_t c = {.host = a, .peer = b, .peer_ns = CTR_NETNS_SELF};
  return ctr_nl_link_add_veth_conf(&c, err);
}

static int do_set_up(const nl_args_t *args, char *out, size_t outlen, ctr_error_t *err) {
  (void)out, (void)outlen;
  int idx = ctr_nl_link_index(args->a, err);
  if (idx < 0)
    return -1;
  char buf[NL_BUFSZ];
  struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, idx);
  struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = args->up ? IFF_UP : 0;
  char what[64];
  snprintf(what, sizeof what, "setting link %s %s", args->a, args->up ? "up" : "down");
  return nl_request(nlh, what, err);
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
  char buf[NL_BUFSZ];
  struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, idx);
  mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)midx);
  char what[80];
  snprintf(what, sizeof what, "attaching link %s to %s", name, master ? master : "no master");
  return nl_request(nlh, what, err);
}

int ctr_nl_link_set_hairpin(const char *name, int on, ctr_error_t *err) {
  int idx = ctr_nl_link_index(name, err);
  if (idx < 0)
    return -1;
  char buf[NL_BUFSZ];
  struct nlmsghdr *nlh = link_msg(buf, RTM_SETLINK, 0, idx);
  struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
  ifi->ifi_family = AF_BRIDGE;
  struct nlattr *pi = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
  mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
  mnl_attr_nest_end(nlh, pi);
  char what[64];
  snprintf(what, sizeof what, "setting hairpin mode of %s %s", name, on ? "on" : "off");
  return nl_request(nlh, what, err);
}

int ctr_nl_link_set_netns(const char *name, ctr_netns_t ns, ctr_error_t *err) {
  int idx = ctr_nl_link_index(name, err);
  if (idx < 0)
    return -1;
  if (ns.fd < 0 && ns.pid <= 0)
    return ctr_fail(err, EINVAL, "moving link %s: no target namespace (fd or pid)", name);
  char buf[NL_BUFSZ];
  struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, idx);
  if (ns.fd >= 0)
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)ns.fd);
  else
    mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)ns.pid);
  char what[80];
  snprintf(what, sizeof what, "moving link %s into the netns of %s %d", name,
           ns.fd >= 0 ? "fd" : "pid", ns.fd >= 0 ? ns.fd : (int)ns.pid);
  return nl_request(nlh, what, err);
}

static int do_rename(const nl_args_t *args, char *out, size_t outlen, ctr_error_t *err) {
  (void)out, (void)outlen;
  if (check_name(args->b, err) < 0)
    return -1;
  int idx = ctr_nl_link_index(args->a, err);
  if (idx < 0)
    return -1;
  char buf[NL_BUFSZ];
  struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, idx);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, args->b);
  char what[64];
  snprintf(what, sizeof what, "renaming link %s to %s", args->a, args->b);
  return nl_request(nlh, what, err);
}

int ctr_nl_link_rename(const char *name, const char *newname, ctr_netns_t ns, ctr_error_t *err) {
  nl_args_t args = {.a = name, .b = newname};
  return in_netns(ns, do_rename, &args, NULL, 0, err);
}

int ctr_nl_link_del(const char *name, ctr_error_t *err) {
  int idx = ctr_nl_link_index(name, err);
  if (idx < 0)
    return -1;
  char buf[NL_BUFSZ];
  struct nlmsghdr *nlh = link_msg(buf, RTM_DELLINK, 0, idx);
  char what[64];
  snprintf(what, sizeof what, "deleting link %s", name);
  return nl_request(nlh, what, err);
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

static int do_addr_add(const nl_args_t *args, char *out, size_t outlen, ctr_error_t *err) {
  (void)out, (void)outlen;
  struct in_addr a;
  int plen = 0;
  if (parse_cidr(args->b, &a, &plen, err) < 0)
    return -1;
  int idx = ctr_nl_link_index(args->a, err);
  if (idx < 0)
    return -1;
  char buf[NL_BUFSZ];
  memset(buf, 0, sizeof buf);
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_NEWADDR;
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
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
  char what[96];
  snprintf(what, sizeof what, "adding address %s to %s", args->b, args->a);
  return nl_request(nlh, what, err);
}

int ctr_nl_addr_add(const char *ifname, const char *cidr, ctr_netns_t ns, ctr_error_t *err) {
  nl_args_t args = {.a = ifname, .b = cidr};
  return in_netns(ns, do_addr_add, &args, NULL, 0, err);
}

static int do_route_default(const nl_args_t *args, char *out, size_t outlen, ctr_error_t *err) {
  (void)out, (void)outlen;
  struct in_addr gw;
  if (args->a == NULL || inet_pton(AF_INET, args->a, &gw) != 1)
    return ctr_fail(err, EINVAL, "bad IPv4 gateway '%s'", args->a ? args->a : "(null)");
  char buf[NL_BUFSZ];
  memset(buf, 0, sizeof buf);
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_NEWROUTE;
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  struct rtmsg *rt = mnl_nlmsg_put_extra_header(nlh, sizeof *rt);
  rt->rtm_family = AF_INET;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  mnl_attr_put(nlh, RTA_GATEWAY, sizeof gw, &gw);
  char what[80];
  snprintf(what, sizeof what, "adding the default route via %s", args->a);
  return nl_request(nlh, what, err);
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

static int do_configure(const nl_args_t *args, char *out, size_t outlen, ctr_error_t *err) {
  const ctr_iface_conf_t *c = args->conf;
  nl_args_t lo = {.a = "lo", .up = 1};
  if (do_set_up(&lo, NULL, 0, err) < 0)
    return -1;
  if (c->ifname == NULL)
    return 0;
  const char *name = c->name ? c->name : c->ifname;
  nl_args_t step = {.a = c->ifname, .b = name, .up = 1};
  if (strcmp(name, c->ifname) != 0 && do_rename(&step, NULL, 0, err) < 0)
    return -1;
  step.a = name;
  step.b = c->addr;
  if (c->addr && do_addr_add(&step, NULL, 0, err) < 0)
    return -1;
  if (do_set_up(&step, NULL, 0, err) < 0)
    return -1;
  step.a = c->gateway;
  if (c->gateway && do_route_default(&step, NULL, 0, err) < 0)
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
