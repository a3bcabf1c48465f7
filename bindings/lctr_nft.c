/* lctr_nft.c - luaopen_ctr_nft: the `ctr.nft` module (nftables through
 * libnftables, no nft process). Loaded only by ctr.network.
 * Failures return nil, message, errno (errno 0 when nft gave none). */
#include "lctr.h"

#include <stdlib.h>

#include "cleanup.h"
#include "nft.h"

/***
 * nft.run(cmds [, dry_run]) -> output | nil, err, errno
 * Run cmds (nft syntax, one command a line) as one atomic transaction:
 * every command is applied or none is. With dry_run, only check them.
 * Returns what nft printed ("" unless cmds has `list` commands).
 */
static int l_run(lua_State *L) {
  const char *cmds = luaL_checkstring(L, 1);
  int dry = lua_toboolean(L, 2);
  ctr_error_t err;
  cleanup_free char *out = NULL;
  if (ctr_nft_run(cmds, dry, &out, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushstring(L, out);
  return 1;
}

int luaopen_ctr_nft(lua_State *L) {
  static const luaL_Reg fns[] = {{"run", l_run}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
