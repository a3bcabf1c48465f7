/* nft.c - nftables transactions through libnftables (see nft.h). */
#include "nft.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cleanup.h"

static void nft_ctx_freep(struct nft_ctx **ctx) {
  if (*ctx) {
    int saved = errno;
    nft_ctx_free(*ctx);
    errno = saved;
    *ctx = NULL;
  }
}
#define cleanup_nft __attribute__((cleanup(nft_ctx_freep)))

/* nft's error text (an "Error: ..." line, the command, a caret line) made
 * one line: newlines become " | ", caret/blank lines are dropped. */
static void one_line(const char *text, char *dst, size_t len) {
  size_t n = 0;
  const char *p = text ? text : "";
  while (*p && n + 1 < len) {
    const char *eol = strchr(p, '\n');
    size_t l = eol ? (size_t)(eol - p) : strlen(p);
    int carets = l > 0 && strspn(p, " \t^~") == l;
    if (l > 0 && !carets) {
      int w = snprintf(dst + n, len - n, "%s%.*s", n ? " | " : "", (int)l, p);
      n = w < 0 ? len : n + (size_t)w;
    }
    p = eol ? eol + 1 : p + l;
  }
  dst[n < len ? n : len - 1] = '\0';
}

static int nft_fail(struct nft_ctx *ctx, ctr_error_t *err) {
  char text[sizeof err->msg - 32];
  one_line(nft_ctx_get_error_buffer(ctx), text, sizeof text);
  /* errno after libnftables is not the kernel's answer (it is whatever the
   * library's last call left): nft's own text says what failed */
  return ctr_fail(err, 0, "nftables: %s", text[0] ? text : "the transaction failed");
}

int ctr_nft_run(const char *cmds, int dry_run, char **out, ctr_error_t *err) {
  cleanup_nft struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx)
    return ctr_fail_errno(err, "nftables: creating a libnftables context");
  if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0)
    return ctr_fail_errno(err, "nftables: buffering libnftables output");
  nft_ctx_set_dry_run(ctx, dry_run != 0);
  errno = 0;
  if (nft_run_cmd_from_buffer(ctx, cmds) != 0)
    return nft_fail(ctx, err);
  if (out) {
    const char *o = nft_ctx_get_output_buffer(ctx);
    *out = strdup(o ? o : "");
    if (!*out)
      return ctr_fail_errno(err, "nftables: copying the output");
  }
  return 0;
}

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
