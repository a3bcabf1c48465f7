/* nft.c - nftables transactions through libnftables (see nft.h). */
#include "nft.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <string.h>

#include "cleanup.h"

CTR_DEFINE_CLEANUP(nft_ctx_freep, struct nft_ctx, nft_ctx_free)
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
