/* nftset.c - nftables requests over nfnetlink, without libnftables (see nftset.h). */
#include "nftset.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cleanup.h"

static void mnl_closep(struct mnl_socket **s) {
  if (*s) {
    int saved = errno;
    mnl_socket_close(*s);
    errno = saved;
    *s = NULL;
  }
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
  char buf[MNL_SOCKET_BUFFER_SIZE];
  memset(buf, 0, 256);
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = (unsigned)time(NULL);
  struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof *g);
  g->nfgen_family = (uint8_t)fam;
  g->version = NFNETLINK_V0;
  mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, name);
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
    int r = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, NULL, NULL);
    if (r < 0 && errno == ENOENT)
      return 0;
    if (r < 0)
      return ctr_fail_errno(err, "nftables: asking for table %s %s", family, name);
    if (r == MNL_CB_STOP)
      return 1;
  }
}

/* ---- the published-port elements ------------------------------------------ */

/* A message of the batch at b (NULL when it would not fit in len). */
static struct nlmsghdr *put_msg(char *b, size_t *off, size_t len, uint16_t type, uint16_t flags,
                                uint8_t family, uint16_t res_id, unsigned seq) {
  if (*off + 64 > len)
    return NULL;
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(b + *off);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  nlh->nlmsg_seq = seq;
  struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof *g);
  g->nfgen_family = family;
  g->version = NFNETLINK_V0;
  g->res_id = htons(res_id);
  return nlh;
}

/* A concatenation as nftables lays it out: each field in 4-byte words. */
static void put_data(struct nlmsghdr *nlh, uint16_t type, const void *v, size_t len) {
  struct nlattr *nest = mnl_attr_nest_start(nlh, type);
  mnl_attr_put(nlh, NFTA_DATA_VALUE, len, v);
  mnl_attr_nest_end(nlh, nest);
}

static size_t port_key(const ctr_nft_port_t *p, unsigned char *k) {
  size_t o = 0;
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

/* One NEWSETELEM (with the values) or DELSETELEM (keys only) of the ports
 * of one map (want_ip: ports_ip, else ports_any); 0 when it has none. */
static int put_elements(char *b, size_t *off, size_t len, const char *table, int del, int want_ip,
                        const ctr_nft_port_t *ports, size_t n, unsigned seq) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++)
    count += (ports[i].host_ip != 0) == want_ip;
  if (count == 0)
    return 0;
  struct nlmsghdr *nlh = put_msg(
      b, off, len, (NFNL_SUBSYS_NFTABLES << 8) | (del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM),
      NLM_F_ACK | (del ? 0 : NLM_F_CREATE), NFPROTO_IPV4, 0, seq);
  if (nlh == NULL)
    return -1;
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, want_ip ? "ports_ip" : "ports_any");
  struct nlattr *list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
  for (size_t i = 0; i < n; i++) {
    if ((ports[i].host_ip != 0) != want_ip)
      continue;
    unsigned char key[12], val[8] = {0};
    size_t klen = port_key(&ports[i], key);
    memcpy(val, &ports[i].to_ip, 4);
    uint16_t to = htons(ports[i].to_port);
    memcpy(val + 4, &to, 2);
    struct nlattr *el = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    put_data(nlh, NFTA_SET_ELEM_KEY, key, klen);
    if (!del)
      put_data(nlh, NFTA_SET_ELEM_DATA, val, sizeof val);
    mnl_attr_nest_end(nlh, el);
  }
  mnl_attr_nest_end(nlh, list);
  *off += NLMSG_ALIGN(nlh->nlmsg_len);
  return 1;
}

int ctr_nft_port_elements(const char *table, int add, const ctr_nft_port_t *ports, size_t n,
                          ctr_error_t *err) {
  if (table == NULL || table[0] == '\0' || strlen(table) >= NFT_TABLE_MAXNAMELEN)
    return ctr_fail(err, EINVAL, "nftables: bad table name");
  if (n == 0)
    return 0;
  const char *what =
      add ? "adding the published ports' elements" : "removing the published ports' elements";
  size_t len = 1024 + n * 2 * 96;
  cleanup_free char *b = calloc(1, len);
  if (b == NULL)
    return ctr_fail_errno(err, "nftables: %s", what);
  unsigned seq0 = (unsigned)time(NULL), seq = seq0;
  size_t off = 0;
  struct nlmsghdr *nlh =
      put_msg(b, &off, len, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, seq++);
  off += NLMSG_ALIGN(nlh->nlmsg_len);
  int msgs = 0;
  /* removal adds each element first, so that deleting it cannot fail */
  for (int step = 0; step < (add ? 1 : 2); step++)
    for (int want_ip = 0; want_ip < 2; want_ip++) {
      int r = put_elements(b, &off, len, table, step == 1, want_ip, ports, n, seq);
      if (r < 0)
        return ctr_fail(err, ENOBUFS, "nftables: %s: too many", what);
      msgs += r;
      seq += (unsigned)r;
    }
  nlh = put_msg(b, &off, len, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, seq++);
  if (nlh == NULL)
    return ctr_fail(err, ENOBUFS, "nftables: %s: too many", what);
  off += NLMSG_ALIGN(nlh->nlmsg_len);
  __attribute__((cleanup(mnl_closep))) struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == NULL)
    return ctr_fail_errno(err, "nftables: %s: opening a netlink socket", what);
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
    return ctr_fail_errno(err, "nftables: %s: binding the netlink socket", what);
  if (mnl_socket_sendto(nl, b, off) < 0)
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
