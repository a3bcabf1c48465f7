/* nft.h - nftables transactions through libnftables (no nft process).
 *
 * Linked only into the ctr.nft Lua module (bindings/lctr_nft.c), so
 * `require "ctr.core"` does not load libnftables.
 */
#ifndef CTR_NFT_H
#define CTR_NFT_H

#include "error.h"

/* Run cmds (nft syntax, one command a line) as one netlink batch: every
 * command is applied or none is. With dry_run, only check them against the
 * kernel's state. On success returns 0 and, when out is not NULL, sets *out
 * to what nft printed (malloc'd, "" when nothing; `list` commands print).
 * On failure returns -1 with err->msg holding nft's error text on one line. */
int ctr_nft_run(const char *cmds, int dry_run, char **out, ctr_error_t *err);

#endif
