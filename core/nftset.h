/* nftset.h - nftables requests built with libnftnl (the library libnftables
 * itself builds its messages with) and sent with libmnl, without libnftables:
 * whether a table exists, and the published-port elements of luac-ctr's maps.
 *
 * libnftables parses text, so before any command it fetches the ruleset it
 * needs (tables, chains, sets, their elements: ~6 dump requests), and loading
 * it costs ~10 ms a process. What a container's start and end change is only
 * elements of maps whose types are fixed (ctr.network.firewall), so those
 * are built here as the kernel takes them. Linked into ctr.net (with
 * libnftnl and libmnl).
 */
#ifndef CTR_NFTSET_H
#define CTR_NFTSET_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Does table family name ("ip", "luac-ctr") exist? One request for that
 * table alone. Returns 1 or 0, or -1 with err. */
int ctr_nft_table_exists(const char *family, const char *name, ctr_error_t *err);

/* A published port: host_ip 0 is any local address (the map ports_any,
 * key proto . port), else that address (ports_ip, key ip . proto . port);
 * the value is to_ip . to_port. Addresses in network byte order. */
typedef struct ctr_nft_port {
  uint32_t host_ip;
  uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
  uint16_t host_port;
  uint32_t to_ip;
  uint16_t to_port;
} ctr_nft_port_t;

/* Add ports[0..n) to the maps ports_any and ports_ip of table "ip table"
 * (add != 0), or remove them, idempotently: each is added, then deleted
 * (a table or map that is gone has nothing to remove). One batch, one
 * transaction: all of it or nothing (a long list goes in several messages
 * of the batch, as an element list is at most 64 KB). */
int ctr_nft_port_elements(const char *table, int add, const ctr_nft_port_t *ports, size_t n,
                          ctr_error_t *err);

#endif
