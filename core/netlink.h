/* netlink.h - links, addresses and routes through rtnetlink (libmnl).
 *
 * Every function opens its own NETLINK_ROUTE socket in the calling thread's
 * network namespace, sends its requests (several in one sendto when they go
 * together: a veth pair and its hairpin mode; a container end's address,
 * state and route), waits for the kernel's ACK of each and closes the socket.
 * Functions that must act inside another network namespace (the container's)
 * take a netns target (ctr_netns_t) and do their work in a short-lived thread
 * that setns()es into it (the namespace is per thread), with every signal
 * blocked; the caller's namespace never changes and no process is made.
 */
#ifndef CTR_NETLINK_H
#define CTR_NETLINK_H

#include <sys/types.h>

#include "error.h"

/* A network namespace: by an open nsfs fd (fd >= 0) or by a process whose
 * namespace it is (pid > 0). fd wins when both are set; neither = the caller's. */
typedef struct ctr_netns {
  int fd;
  pid_t pid;
} ctr_netns_t;

#define CTR_NETNS_SELF ((ctr_netns_t){.fd = -1, .pid = 0})

/* Create a bridge named name (down). */
int ctr_nl_link_add_bridge(const char *name, ctr_error_t *err);
/* Create a veth pair a <-> b (both down, both in the caller's netns). */
int ctr_nl_link_add_veth(const char *a, const char *b, ctr_error_t *err);
/* A veth pair made in one request: host (in the caller's netns, enslaved to
 * master when not NULL, up when up != 0) <-> peer, created (down) right in
 * peer_ns under its final name, so it never has to be moved or renamed; with
 * hairpin (and a master), the host end's hairpin mode set on in the same
 * batch. */
typedef struct ctr_veth_conf {
  const char *host;
  const char *peer;
  ctr_netns_t peer_ns; /* CTR_NETNS_SELF: the caller's */
  const char *master;  /* NULL: none */
  int up;
  int hairpin;
} ctr_veth_conf_t;
int ctr_nl_link_add_veth_conf(const ctr_veth_conf_t *c, ctr_error_t *err);
/* Set a link up (up != 0) or down, in ns (CTR_NETNS_SELF for the caller's). */
int ctr_nl_link_set_up(const char *name, int up, ctr_netns_t ns, ctr_error_t *err);
/* Enslave name to the bridge master (master NULL: release it). */
int ctr_nl_link_set_master(const char *name, const char *master, ctr_error_t *err);
/* Turn hairpin mode of a bridge port on or off (frames may leave by the port
 * they came in: a container reaching itself through a published port). */
int ctr_nl_link_set_hairpin(const char *name, int on, ctr_error_t *err);
/* Move a link of the caller's netns into ns. */
int ctr_nl_link_set_netns(const char *name, ctr_netns_t ns, ctr_error_t *err);
/* Rename a (down) link, in ns. */
int ctr_nl_link_rename(const char *name, const char *newname, ctr_netns_t ns, ctr_error_t *err);
/* Delete a link (a veth takes its peer with it). */
int ctr_nl_link_del(const char *name, ctr_error_t *err);
/* Wait up to timeout_ms for link name to be deleted (by whoever: a veth pair
 * goes with the network namespace of its peer): 1 when it is gone (or was
 * never there), 0 when it is still there, -1 with err. Event-driven (link
 * notifications), no polling. */
int ctr_nl_link_wait_gone(const char *name, int timeout_ms, ctr_error_t *err);
/* The link's ifindex (> 0), or -1 with err (errnum ENODEV when it does not exist). */
int ctr_nl_link_index(const char *name, ctr_error_t *err);
/* Add an IPv4 address "a.b.c.d/len" to ifname (broadcast derived), in ns. */
int ctr_nl_addr_add(const char *ifname, const char *cidr, ctr_netns_t ns, ctr_error_t *err);
/* Add the IPv4 default route via gateway gw (dotted quad), in ns. */
int ctr_nl_route_add_default(const char *gw, ctr_netns_t ns, ctr_error_t *err);

/* Everything the container end of a veth needs, done in one batch inside ns:
 * rename ifname to name (when name differs), add addr (CIDR, may be NULL),
 * set it and lo up, add the default route via gateway (may be NULL). The
 * link's MAC address ("aa:bb:..") is written to mac (>= 18 bytes) if non-NULL. */
typedef struct ctr_iface_conf {
  ctr_netns_t ns;
  const char *ifname; /* NULL: only bring lo up */
  const char *name;
  const char *addr;
  const char *gateway;
} ctr_iface_conf_t;
int ctr_nl_configure_iface(const ctr_iface_conf_t *c, char *mac, ctr_error_t *err);

#endif
