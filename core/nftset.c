/* nftset.c - nftables requests built with libnftnl, sent with libmnl (see nftset.h). */
#include "nftset.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "cleanup.h"

/* The largest nf_tables message: an element list is one attribute, whose
 * length is 16 bits (libnftnl starts a new message when it is full). */
#define NFT_MSG_MAX (UINT16_MAX + 4096)

CTR_DEFINE_CLEANUP(mnl_closep, struct mnl_socket, mnl_socket_close)

CTR_DEFINE_CLEANUP(table_freep, struct nftnl_table, nftnl_table_free)

CTR_DEFINE_CLEANUP(set_freep, struct nftnl_set, nftnl_set_free) /* and its elements */

CTR_DEFINE_CLEANUP(batch_freep, struct nftnl_batch, nftnl_batch_free)

CTR_DEFINE_CLEANUP(iter_freep, struct nftnl_set_elems_iter, nftnl_set_elems_iter_destroy)

/* errno after a libnftnl setter or allocator failed: they fail on memory
 * (malloc's ENOMEM) or on a length too long for them (no errno). */
static int nftnl_errno(void) {
  return errno ? errno : EINVAL;
}

static int family_of(const char *family) {
  static const struct {
    const char *name;
    int nfproto;
  } fams[] = {{"ip", NFPROTO_IPV4}, {"ip6", NFPROTO_IPV6},      {"inet", NFPROTO_INET},
              {"arp", NFPROTO_ARP}, {"bridge", NFPROTO_BRIDGE}, {"netdev", NFPROTO_NETDEV}};
  for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++)
    if (family && strcmp(family, fams[i].name) == 0)
      return fams[i].nfproto;
  return -1;
}

int ctr_nft_table_exists(const char *family, const char *name, ctr_error_t *err) {
  int fam = family_of(family);
  if (fam < 0)
    return ctr_fail(err, EINVAL, "nftables: unknown family '%s'", family ? family : "(null)");
  if (name == NULL || name[0] == '\0' || strlen(name) >= NFT_TABLE_MAXNAMELEN)
    return ctr_fail(err, EINVAL, "nftables: bad table name");
  errno = 0;
  __attribute__((cleanup(table_freep))) struct nftnl_table *t = nftnl_table_alloc();
  if (t == NULL || nftnl_table_set_str(t, NFTNL_TABLE_NAME, name) < 0)
    return ctr_fail(err, nftnl_errno(), "nftables: asking for table %s %s", family, name);
  char buf[MNL_SOCKET_BUFFER_SIZE];
  unsigned seq = (unsigned)time(NULL);
  struct nlmsghdr *nlh =
      nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, (uint16_t)fam, NLM_F_ACK, seq);
  nftnl_table_nlmsg_build_payload(nlh, t);
  __attribute__((cleanup(mnl_closep))) struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == NULL)
    return ctr_fail_errno(err, "nftables: opening a netlink socket");
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
    return ctr_fail_errno(err, "nftables: binding the netlink socket");
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
    return ctr_fail_errno(err, "nftables: asking for table %s %s", family, name);
  unsigned portid = mnl_socket_get_portid(nl);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
    if (n < 0)
      return ctr_fail_errno(err, "nftables: receiving the netlink reply");
    int r = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL);
    if (r < 0 && errno == ENOENT)
      return 0;
    if (r < 0)
      return ctr_fail_errno(err, "nftables: asking for table %s %s", family, name);
    if (r == MNL_CB_STOP)
      return 1;
  }
}

/* ---- the published-port elements ------------------------------------------ */

/* A concatenation as nftables lays it out: each field in 4-byte words. */
static uint32_t port_key(const ctr_nft_port_t *p, unsigned char *k) {
  uint32_t o = 0;
  memset(k, 0, 12);
  if (p->host_ip != 0) {
    memcpy(k, &p->host_ip, 4);
    o = 4;
  }
  k[o] = p->proto;
  uint16_t port = htons(p->host_port);
  memcpy(k + o + 4, &port, 2);
  return o + 8;
}

/* The elements of the ports of one map (want_ip: ports_ip, else ports_any)
 * as a libnftnl set: keys and values (with_data) or keys only. NULL with
 * errno set on failure; an empty set when the map has no ports. */
static struct nftnl_set *port_set(const char *table, int want_ip, int with_data,
                                  const ctr_nft_port_t *ports, size_t n) {
  errno = 0;
  __attribute__((cleanup(set_freep))) struct nftnl_set *s = nftnl_set_alloc();
  if (s == NULL || nftnl_set_set_str(s, NFTNL_SET_TABLE, table) < 0 ||
      nftnl_set_set_str(s, NFTNL_SET_NAME, want_ip ? "ports_ip" : "ports_any") < 0) {
    errno = nftnl_errno();
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    if ((ports[i].host_ip != 0) != want_ip)
      continue;
    unsigned char key[12], val[8] = {0};
    uint32_t klen = port_key(&ports[i], key);
    memcpy(val, &ports[i].to_ip, 4);
    uint16_t to = htons(ports[i].to_port);
    memcpy(val + 4, &to, 2);
    errno = 0;
    struct nftnl_set_elem *e = nftnl_set_elem_alloc();
    if (e == NULL || nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, klen) < 0 ||
        (with_data && nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, val, sizeof val) < 0)) {
      int saved = nftnl_errno();
      if (e)
        nftnl_set_elem_free(e);
      errno = saved;
      return NULL;
    }
    nftnl_set_elem_add(s, e); /* the set owns it now */
  }
  struct nftnl_set *r = s;
  s = NULL;
  return r;
}

/* Appends to batch the NEWSETELEM (add) or DELSETELEM messages of the
 * elements of s: as many as their lists need (~1600 elements a message).
 * Counts them into *msgs; -1 with errno set on failure. */
static int put_elements(struct nftnl_batch *batch, struct nftnl_set *s, int del, unsigned *seq,
                        int *msgs) {
  __attribute__((cleanup(iter_freep))) struct nftnl_set_elems_iter *it =
      nftnl_set_elems_iter_create(s);
  if (it == NULL)
    return -1;
  if (nftnl_set_elems_iter_cur(it) == NULL)
    return 0; /* no ports in this map */
  int more;
  do {
    struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(
        nftnl_batch_buffer(batch), del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM, NFPROTO_IPV4,
        NLM_F_ACK | (del ? 0 : NLM_F_CREATE), (*seq)++);
    more = nftnl_set_elems_nlmsg_build_payload_iter(nlh, it);
    if (nftnl_batch_update(batch) < 0)
      return -1;
    (*msgs)++;
  } while (more > 0);
  return 0;
}

/* Lets the socket send len bytes at once: a netlink message goes whole. */
static int fit_sndbuf(struct mnl_socket *nl, size_t len) {
  if (len <= 128 * 1024) /* within the default (net.core.wmem_default) */
    return 0;
  if (len > INT32_MAX / 2) {
    errno = EMSGSIZE;
    return -1;
  }
  int sz = (int)len + 4096;
  if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) == 0)
    return 0;
  if (errno != EPERM) /* without CAP_NET_ADMIN: up to net.core.wmem_max */
    return -1;
  return setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
}

int ctr_nft_port_elements(const char *table, int add, const ctr_nft_port_t *ports, size_t n,
                          ctr_error_t *err) {
  if (table == NULL || table[0] == '\0' || strlen(table) >= NFT_TABLE_MAXNAMELEN)
    return ctr_fail(err, EINVAL, "nftables: bad table name");
  if (n == 0)
    return 0;
  const char *what =
      add ? "adding the published ports' elements" : "removing the published ports' elements";
  /* each map's elements with their values, to add; their keys, to delete */
  __attribute__((cleanup(set_freep))) struct nftnl_set *any_add = port_set(table, 0, 1, ports, n);
  __attribute__((cleanup(set_freep))) struct nftnl_set *ip_add = port_set(table, 1, 1, ports, n);
  __attribute__((cleanup(set_freep))) struct nftnl_set *any_del = NULL;
  __attribute__((cleanup(set_freep))) struct nftnl_set *ip_del = NULL;
  if (any_add == NULL || ip_add == NULL)
    return ctr_fail_errno(err, "nftables: %s", what);
  if (!add) {
    any_del = port_set(table, 0, 0, ports, n);
    ip_del = port_set(table, 1, 0, ports, n);
    if (any_del == NULL || ip_del == NULL)
      return ctr_fail_errno(err, "nftables: %s", what);
  }
  __attribute__((cleanup(batch_freep))) struct nftnl_batch *batch =
      nftnl_batch_alloc(NFT_MSG_MAX, NFT_MSG_MAX);
  if (batch == NULL)
    return ctr_fail_errno(err, "nftables: %s", what);
  unsigned seq0 = (unsigned)time(NULL), seq = seq0;
  nftnl_batch_begin(nftnl_batch_buffer(batch), seq++);
  if (nftnl_batch_update(batch) < 0)
    return ctr_fail_errno(err, "nftables: %s", what);
  int msgs = 0;
  /* removal adds each element first, so that deleting it cannot fail */
  if (put_elements(batch, any_add, 0, &seq, &msgs) < 0 ||
      put_elements(batch, ip_add, 0, &seq, &msgs) < 0 ||
      (!add && (put_elements(batch, any_del, 1, &seq, &msgs) < 0 ||
                put_elements(batch, ip_del, 1, &seq, &msgs) < 0)))
    return ctr_fail_errno(err, "nftables: %s", what);
  nftnl_batch_end(nftnl_batch_buffer(batch), seq++);
  if (nftnl_batch_update(batch) < 0)
    return ctr_fail_errno(err, "nftables: %s", what);

  /* the batch's pages, sent in one message */
  int npages = nftnl_batch_iovec_len(batch);
  cleanup_free struct iovec *iov = calloc(npages > 0 ? (size_t)npages : 1, sizeof *iov);
  if (iov == NULL)
    return ctr_fail_errno(err, "nftables: %s", what);
  nftnl_batch_iovec(batch, iov, (uint32_t)npages);
  size_t total = 0;
  for (int i = 0; i < npages; i++)
    total += iov[i].iov_len;
  __attribute__((cleanup(mnl_closep))) struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == NULL)
    return ctr_fail_errno(err, "nftables: %s: opening a netlink socket", what);
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
    return ctr_fail_errno(err, "nftables: %s: binding the netlink socket", what);
  /* an error's answer without the request in it: one fits the buffer below */
  int one = 1;
  if (mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof one) < 0)
    return ctr_fail_errno(err, "nftables: %s: setting NETLINK_CAP_ACK", what);
  if (fit_sndbuf(nl, total) < 0)
    return ctr_fail_errno(err, "nftables: %s: a send buffer of %zu bytes", what, total);
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  struct msghdr mh = {.msg_name = &kernel,
                      .msg_namelen = sizeof kernel,
                      .msg_iov = iov,
                      .msg_iovlen = (size_t)npages};
  if (sendmsg(mnl_socket_get_fd(nl), &mh, 0) < 0)
    return ctr_fail_errno(err, "nftables: %s: sending", what);
  /* the kernel has run the batch by now: its answers are all queued */
  char rb[MNL_SOCKET_BUFFER_SIZE];
  unsigned portid = mnl_socket_get_portid(nl);
  int acked = 0, bad = 0;
  while (acked < msgs) {
    ssize_t r = recv(mnl_socket_get_fd(nl), rb, sizeof rb, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && bad == 0)
      return ctr_fail(err, EIO, "nftables: %s: the kernel answered %d of %d requests", what, acked,
                      msgs);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (r < 0)
      return ctr_fail_errno(err, "nftables: %s: receiving the reply", what);
    int left = (int)r;
    for (const struct nlmsghdr *h = (const struct nlmsghdr *)rb; mnl_nlmsg_ok(h, left);
         h = mnl_nlmsg_next(h, &left)) {
      if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_pid != portid || h->nlmsg_seq < seq0 ||
          mnl_nlmsg_get_payload_len(h) < sizeof(struct nlmsgerr))
        continue;
      const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
      if (e->error != 0 && bad == 0)
        bad = -e->error;
      acked++;
    }
  }
  if (bad == ENOENT && !add) /* no table or map: nothing to remove */
    return 0;
  if (bad != 0)
    return ctr_fail(err, bad, "nftables: %s", what);
  return 0;
}
