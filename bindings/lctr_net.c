/* lctr_net.c - luaopen_ctr_net: the `ctr.net` module (rtnetlink via libmnl).
 *
 * Thin wrappers over core/netlink.c. Failures return nil, message, errno.
 * A network namespace target ("ns" below) is one of:
 *   an integer          the pid of a process whose netns it is
 *   a ctr.fd            an open /proc/PID/ns/net (or bind-mounted nsfs) fd
 *   a table             {pid=N} or {fd=N|ctr.fd}
 *   nil / absent        the caller's own network namespace
 */
#include "lctr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "netlink.h"
#include "nftset.h"

static ctr_netns_t check_ns(lua_State *L, int idx) {
  ctr_netns_t ns = CTR_NETNS_SELF;
  switch (lua_type(L, idx)) {
  case LUA_TNONE:
  case LUA_TNIL:
    return ns;
  case LUA_TNUMBER:
    ns.pid = (pid_t)luaL_checkinteger(L, idx);
    luaL_argcheck(L, ns.pid > 0, idx, "pid must be > 0");
    return ns;
  case LUA_TUSERDATA:
    ns.fd = lctr_checkfd(L, idx);
    return ns;
  case LUA_TTABLE:
    lua_getfield(L, idx, "fd");
    if (!lua_isnil(L, -1))
      ns.fd = lctr_checkfd(L, -1);
    lua_pop(L, 1);
    ns.pid = (pid_t)lctr_optfield_integer(L, idx, "pid", 0);
    luaL_argcheck(L, ns.fd >= 0 || ns.pid > 0, idx, "namespace table needs pid or fd");
    return ns;
  default:
    luaL_typeerror(L, idx, "network namespace (pid, ctr.fd or {pid=|fd=})");
    return ns;
  }
}

static int push_result(lua_State *L, int rc, const ctr_error_t *err) {
  if (rc < 0)
    return lctr_pusherr(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * net.link_add_bridge(name) -> true | nil, err, errno
 * Create a Linux bridge (left down).
 */
static int l_link_add_bridge(lua_State *L) {
  ctr_error_t err;
  return push_result(L, ctr_nl_link_add_bridge(luaL_checkstring(L, 1), &err), &err);
}

/***
 * net.link_add_veth(a, b [, opts]) -> true | nil, err, errno
 * Create a veth pair a <-> b in the caller's network namespace (both down).
 * opts (one request, nothing to move or rename later): netns = the peer's
 * namespace (see the module comment; b is created there, down, under its
 * final name), master = a bridge to enslave a to, up = true to set a up,
 * hairpin = true to set a's hairpin mode on (with master; same batch).
 */
static int l_link_add_veth(lua_State *L) {
  ctr_error_t err;
  ctr_veth_conf_t c = {
      .host = luaL_checkstring(L, 1), .peer = luaL_checkstring(L, 2), .peer_ns = CTR_NETNS_SELF};
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_getfield(L, 3, "netns");
    c.peer_ns = check_ns(L, lua_gettop(L));
    lua_getfield(L, 3, "master");
    c.master = luaL_optstring(L, -1, NULL);
    lua_getfield(L, 3, "up");
    c.up = lua_toboolean(L, -1);
    lua_getfield(L, 3, "hairpin");
    c.hairpin = lua_toboolean(L, -1);
  }
  return push_result(L, ctr_nl_link_add_veth_conf(&c, &err), &err);
}

/***
 * net.link_set_up(name [, ns]) -> true | nil, err, errno
 * Set a link up, in ns (see the module comment) or the caller's netns.
 */
static int l_link_set_up(lua_State *L) {
  ctr_error_t err;
  const char *name = luaL_checkstring(L, 1);
  return push_result(L, ctr_nl_link_set_up(name, 1, check_ns(L, 2), &err), &err);
}

/***
 * net.link_set_down(name [, ns]) -> true | nil, err, errno
 * Set a link down.
 */
static int l_link_set_down(lua_State *L) {
  ctr_error_t err;
  const char *name = luaL_checkstring(L, 1);
  return push_result(L, ctr_nl_link_set_up(name, 0, check_ns(L, 2), &err), &err);
}

/***
 * net.link_set_master(name, bridge|nil) -> true | nil, err, errno
 * Enslave a link to a bridge (nil: release it from its bridge).
 */
static int l_link_set_master(lua_State *L) {
  ctr_error_t err;
  const char *name = luaL_checkstring(L, 1);
  const char *master = luaL_optstring(L, 2, NULL);
  return push_result(L, ctr_nl_link_set_master(name, master, &err), &err);
}

/***
 * net.link_set_hairpin(name [, on=true]) -> true | nil, err, errno
 * Set hairpin mode of a bridge port (a frame may leave by the port it came in).
 */
static int l_link_set_hairpin(lua_State *L) {
  ctr_error_t err;
  const char *name = luaL_checkstring(L, 1);
  int on = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
  return push_result(L, ctr_nl_link_set_hairpin(name, on, &err), &err);
}

/***
 * net.link_set_netns(name, ns) -> true | nil, err, errno
 * Move a link into another network namespace (ns: pid, ctr.fd or {pid=|fd=}).
 */
static int l_link_set_netns(lua_State *L) {
  ctr_error_t err;
  const char *name = luaL_checkstring(L, 1);
  luaL_checkany(L, 2);
  return push_result(L, ctr_nl_link_set_netns(name, check_ns(L, 2), &err), &err);
}

/***
 * net.link_rename(name, newname [, ns]) -> true | nil, err, errno
 * Rename a link (it must be down).
 */
static int l_link_rename(lua_State *L) {
  ctr_error_t err;
  const char *name = luaL_checkstring(L, 1);
  const char *newname = luaL_checkstring(L, 2);
  return push_result(L, ctr_nl_link_rename(name, newname, check_ns(L, 3), &err), &err);
}

/***
 * net.link_del(name) -> true | nil, err, errno
 * Delete a link (deleting one end of a veth pair deletes both).
 */
static int l_link_del(lua_State *L) {
  ctr_error_t err;
  return push_result(L, ctr_nl_link_del(luaL_checkstring(L, 1), &err), &err);
}

/***
 * net.link_wait_gone(name, seconds) -> boolean | nil, err, errno
 * Wait up to seconds for the link to be deleted (by anyone: a veth pair goes
 * with its peer's network namespace): true when it is gone or was never
 * there, false when it is still there. Woken by the kernel's link
 * notifications, not polling.
 */
static int l_link_wait_gone(lua_State *L) {
  ctr_error_t err;
  const char *name = luaL_checkstring(L, 1);
  lua_Number secs = luaL_checknumber(L, 2);
  luaL_argcheck(L, secs >= 0 && secs <= 3600, 2, "seconds out of range (0-3600)");
  int r = ctr_nl_link_wait_gone(name, (int)(secs * 1000), &err);
  if (r < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, r);
  return 1;
}

/***
 * net.link_index(name) -> ifindex | nil, err, errno
 * The link's interface index in the caller's netns (errno ENODEV when missing).
 */
static int l_link_index(lua_State *L) {
  ctr_error_t err;
  int idx = ctr_nl_link_index(luaL_checkstring(L, 1), &err);
  if (idx < 0)
    return lctr_pusherr(L, &err);
  lua_pushinteger(L, idx);
  return 1;
}

/***
 * net.link_exists(name) -> boolean
 * Whether a link of that name exists in the caller's netns.
 */
static int l_link_exists(lua_State *L) {
  ctr_error_t err;
  lua_pushboolean(L, ctr_nl_link_index(luaL_checkstring(L, 1), &err) > 0);
  return 1;
}

/***
 * net.addr_add(ifname, "a.b.c.d/len" [, ns]) -> true | nil, err, errno
 * Add an IPv4 address (broadcast derived from the prefix).
 */
static int l_addr_add(lua_State *L) {
  ctr_error_t err;
  const char *ifname = luaL_checkstring(L, 1);
  const char *cidr = luaL_checkstring(L, 2);
  return push_result(L, ctr_nl_addr_add(ifname, cidr, check_ns(L, 3), &err), &err);
}

/***
 * net.route_add_default(gateway [, ns]) -> true | nil, err, errno
 * Add the IPv4 default route via gateway.
 */
static int l_route_add_default(lua_State *L) {
  ctr_error_t err;
  const char *gw = luaL_checkstring(L, 1);
  return push_result(L, ctr_nl_route_add_default(gw, check_ns(L, 2), &err), &err);
}

/***
 * net.configure_container_iface{pid=|netns_fd=, ifname=, name="eth0", addr=, gateway=}
 *   -> mac | true | nil, err, errno
 * In a thread inside the target netns, one batch of requests: bring lo up;
 * then, when ifname is given, rename it to name, add addr ("a.b.c.d/len"),
 * set it up and add the default route via gateway. Returns the interface's
 * MAC address (or true when only lo was brought up).
 */
static int l_configure_container_iface(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  ctr_iface_conf_t c = {.ns = CTR_NETNS_SELF};
  c.ns.pid = (pid_t)lctr_optfield_integer(L, 1, "pid", 0);
  lua_getfield(L, 1, "netns_fd");
  if (!lua_isnil(L, -1))
    c.ns.fd = lctr_checkfd(L, -1);
  lua_pop(L, 1);
  luaL_argcheck(L, c.ns.pid > 0 || c.ns.fd >= 0, 1, "pid or netns_fd required");
  c.ifname = lctr_optfield_string(L, 1, "ifname", NULL);
  c.name = lctr_optfield_string(L, 1, "name", "eth0");
  c.addr = lctr_optfield_string(L, 1, "addr", NULL);
  c.gateway = lctr_optfield_string(L, 1, "gateway", NULL);
  ctr_error_t err;
  char mac[18] = "";
  if (ctr_nl_configure_iface(&c, c.ifname ? mac : NULL, &err) < 0)
    return lctr_pusherr(L, &err);
  if (c.ifname)
    lua_pushstring(L, mac);
  else
    lua_pushboolean(L, 1);
  return 1;
}

/***
 * net.nft_table_exists(family, name) -> boolean | nil, err, errno
 * Is there an nftables table family name ("ip", "luac-ctr")? One netlink
 * request for that table alone (no libnftables, no ruleset listing).
 */
static int l_nft_table_exists(lua_State *L) {
  ctr_error_t err;
  int r = ctr_nft_table_exists(luaL_checkstring(L, 1), luaL_checkstring(L, 2), &err);
  if (r < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, r);
  return 1;
}

static uint32_t check_ipv4(lua_State *L, int t, const char *field, int arg) {
  const char *s = lctr_optfield_string(L, t, field, NULL);
  struct in_addr a;
  if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
    luaL_error(L, "bad argument #%d: port %s must be an IPv4 address", arg, field);
  return a.s_addr;
}

static uint16_t check_port(lua_State *L, int t, const char *field, int arg) {
  lua_Integer p = lctr_optfield_integer(L, t, field, -1);
  if (p < 1 || p > 65535)
    luaL_error(L, "bad argument #%d: port %s must be 1-65535", arg, field);
  return (uint16_t)p;
}

/***
 * net.nft_port_elements(table, add, ports) -> true | nil, err, errno
 * The published-port elements of the maps ports_any / ports_ip of nftables
 * table "ip table" (ctr.network.firewall), added (add true) or removed
 * (idempotent: a missing one, table or map is no error), in one batch:
 * one transaction, without libnftables. ports: {{host_ip= ("0.0.0.0":
 * any local address), proto= "tcp"|"udp", host_port=, to_ip=, to_port=}, ...}.
 */
static int l_nft_port_elements(lua_State *L) {
  const char *table = luaL_checkstring(L, 1);
  int add = lua_toboolean(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  size_t n = (size_t)luaL_len(L, 3);
  luaL_argcheck(L, n <= 65536, 3, "too many ports");
  ctr_nft_port_t *ports =
      lua_newuserdatauv(L, (n ? n : 1) * sizeof *ports, 0); /* freed by the GC */
  memset(ports, 0, (n ? n : 1) * sizeof *ports);
  for (size_t i = 0; i < n; i++) {
    lua_geti(L, 3, (lua_Integer)i + 1);
    int t = lua_gettop(L);
    luaL_argcheck(L, lua_istable(L, t), 3, "a list of port tables expected");
    ports[i].host_ip = check_ipv4(L, t, "host_ip", 3);
    const char *proto = lctr_optfield_string(L, t, "proto", "tcp");
    luaL_argcheck(L, strcmp(proto, "tcp") == 0 || strcmp(proto, "udp") == 0, 3,
                  "proto must be tcp or udp");
    ports[i].proto = strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
    ports[i].host_port = check_port(L, t, "host_port", 3);
    ports[i].to_ip = check_ipv4(L, t, "to_ip", 3);
    ports[i].to_port = check_port(L, t, "to_port", 3);
    lua_settop(L, t - 1);
  }
  ctr_error_t err;
  return push_result(L, ctr_nft_port_elements(table, add, ports, n, &err), &err);
}

int luaopen_ctr_net(lua_State *L) {
  static const luaL_Reg fns[] = {{"link_add_bridge", l_link_add_bridge},
                                 {"link_add_veth", l_link_add_veth},
                                 {"link_set_up", l_link_set_up},
                                 {"link_set_down", l_link_set_down},
                                 {"link_set_master", l_link_set_master},
                                 {"link_set_netns", l_link_set_netns},
                                 {"link_set_hairpin", l_link_set_hairpin},
                                 {"link_rename", l_link_rename},
                                 {"link_del", l_link_del},
                                 {"link_wait_gone", l_link_wait_gone},
                                 {"link_index", l_link_index},
                                 {"link_exists", l_link_exists},
                                 {"addr_add", l_addr_add},
                                 {"route_add_default", l_route_add_default},
                                 {"configure_container_iface", l_configure_container_iface},
                                 {"nft_table_exists", l_nft_table_exists},
                                 {"nft_port_elements", l_nft_port_elements},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
