-- Security (issue 10, point 8; the CVE-2020-8558 class): luac-ctr bridges
-- have route_localnet=1 (ports published on 127.0.0.1 are DNATed out of
-- loopback), so a container that sends a raw frame to the gateway's MAC with
-- IP destination 127.0.0.1 would reach the host's loopback-only services.
-- The network drops packets for 127.0.0.0/8 that arrive on its bridge;
-- published ports on 127.0.0.1 keep working.
--
-- Run inside a private network namespace (as tools/test.sh does): the "host"
-- is the namespace busted runs in; all traffic stays in it and its containers.
local U = require "spec_util"

local q = U.q

-- rawudp IFACE DSTIP PORT MSG: send 5 Ethernet frames (IPv4/UDP, from IFACE's
-- own MAC and address) to the default gateway's MAC (learnt through ARP). listen IP PORT SECONDS: print
-- "ready", then "GOT <msg>" for the first datagram, or "NONE" after SECONDS.
-- tcpget IP PORT: an HTTP/1.0 GET of /index.html, the answer on stdout.
local PAYLOAD_C = [[
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned short csum(const void *p, int n) {
  const unsigned short *w = p; unsigned long s = 0;
  for (; n > 1; n -= 2) s += *w++;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (unsigned short)~s;
}

/* The default gateway's MAC: a datagram to it makes the kernel resolve it
 * (ARP), then /proc/net/arp has it. */
static int gateway_mac(char *mac, size_t len) {
  FILE *f = fopen("/proc/net/route", "r");
  char line[256], ifn[64], gwip[32], ip[64], hw[64];
  unsigned dest, gw, flags = 0, type;
  int found = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "%63s %x %x", ifn, &dest, &gw) == 3 && dest == 0 && gw != 0) { found = 1; break; }
  if (f) fclose(f);
  if (!found) { fprintf(stderr, "no default route\n"); return -1; }
  struct in_addr g = {.s_addr = gw};
  snprintf(gwip, sizeof gwip, "%s", inet_ntoa(g));
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9), .sin_addr = g};
  if (sendto(u, "x", 1, 0, (struct sockaddr *)&a, sizeof a) < 0) { perror("sendto gateway"); return -1; }
  for (int i = 0; i < 100; i++, usleep(20000)) {
    f = fopen("/proc/net/arp", "r");
    while (f && fgets(line, sizeof line, f))
      if (sscanf(line, "%63s 0x%x 0x%x %63s", ip, &type, &flags, hw) == 4 && !strcmp(ip, gwip) && (flags & 2)) {
        fclose(f); snprintf(mac, len, "%s", hw); return 0;
      }
    if (f) fclose(f);
  }
  fprintf(stderr, "the gateway %s did not answer ARP\n", gwip);
  return -1;
}

static int rawudp(const char *ifname, const char *dst, int port, const char *msg) {
  char mac[64];
  if (gateway_mac(mac, sizeof mac) < 0) return 1;
  int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP)), u = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0 || u < 0) { perror("socket"); return 1; }
  struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) { perror("SIOCGIFINDEX"); return 1; }
  int ifindex = ifr.ifr_ifindex;
  if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) { perror("SIOCGIFHWADDR"); return 1; }
  unsigned char frame[1500] = {0}, dmac[6];
  memcpy(frame + 6, ifr.ifr_hwaddr.sa_data, 6);
  if (ioctl(u, SIOCGIFADDR, &ifr) < 0) { perror("SIOCGIFADDR"); return 1; }
  struct in_addr src = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
  if (sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dmac[0], &dmac[1], &dmac[2], &dmac[3], &dmac[4], &dmac[5]) != 6) return 2;
  memcpy(frame, dmac, 6);
  frame[12] = 0x08; frame[13] = 0x00;
  struct iphdr *ip = (struct iphdr *)(frame + 14);
  struct udphdr *udp = (struct udphdr *)(frame + 14 + sizeof *ip);
  size_t len = strlen(msg);
  memcpy(frame + 14 + sizeof *ip + sizeof *udp, msg, len);
  ip->version = 4; ip->ihl = 5; ip->ttl = 64; ip->protocol = IPPROTO_UDP;
  ip->tot_len = htons((unsigned short)(sizeof *ip + sizeof *udp + len));
  ip->id = htons(4242); ip->saddr = src.s_addr;
  if (inet_pton(AF_INET, dst, &ip->daddr) != 1) return 2;
  ip->check = csum(ip, sizeof *ip);
  udp->source = htons(40000); udp->dest = htons((unsigned short)port);
  udp->len = htons((unsigned short)(sizeof *udp + len)); udp->check = 0;
  struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6};
  memcpy(ll.sll_addr, dmac, 6);
  for (int i = 0; i < 5; i++) {
    if (sendto(s, frame, 14 + sizeof *ip + sizeof *udp + len, 0, (struct sockaddr *)&ll, sizeof ll) < 0) { perror("sendto"); return 1; }
    usleep(50000);
  }
  printf("sent from %s to %s\n", inet_ntoa(src), mac);
  return 0;
}

static int listen_(const char *ip, int port, int secs) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
  printf("ready\n"); fflush(stdout);
  struct pollfd p = {.fd = s, .events = POLLIN};
  if (poll(&p, 1, secs * 1000) == 1) {
    char buf[256]; ssize_t n = recv(s, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = 0; printf("GOT %s\n", buf);
  } else printf("NONE\n");
  return 0;
}

static int tcpget(const char *ip, int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); return 1; }
  const char *req = "GET /index.html HTTP/1.0\r\n\r\n";
  if (write(s, req, strlen(req)) < 0) { perror("write"); return 1; }
  char buf[4096]; ssize_t n;
  while ((n = read(s, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
  return n < 0;
}

int main(int argc, char **argv) {
  alarm(30);
  if (argc == 6 && !strcmp(argv[1], "rawudp")) return rawudp(argv[2], argv[3], atoi(argv[4]), argv[5]);
  if (argc == 4 && !strcmp(argv[1], "tcpget")) return tcpget(argv[2], atoi(argv[3]));
  if (argc == 5 && !strcmp(argv[1], "listen")) return listen_(argv[2], atoi(argv[3]), atoi(argv[4]));
  fprintf(stderr, "usage\n"); return 2;
}
]]

describe("security: loopback stays the host's #root", function()
  local root, tooldir, payload

  setup(function()
    tooldir = U.tmproot()
    local f = assert(io.open(tooldir .. "/payload.c", "w")); f:write(PAYLOAD_C); f:close()
    payload = tooldir .. "/payload"
    local out, err, code = U.sh(("gcc -static -O1 -o %s %s/payload.c"):format(q(payload), q(tooldir)))
    assert(code == 0, "compiling the payload: " .. out .. err)
  end)

  teardown(function() U.cleanup(tooldir) end)

  U.per_test_root(function(r) root = r end)

  -- The default network (made by a first run).
  local function bridge()
    local _, err, code = U.ctr(root, { "run", "--rm", "busybox", "true" })
    assert.are.equal(0, code, err)
    local f = assert(io.open(root .. "/networks/bridge.json"))
    local n = require("ctr.json").decode(f:read("a"))
    f:close()
    return n
  end

  -- Listen on ip:port in this namespace while a container on the default
  -- bridge sends raw frames for dst:port to the gateway's MAC; what the
  -- listener got ("GOT ..." or "NONE") and what the container said.
  local function attack(ip, dst, port)
    bridge()
    local l = assert(io.popen(("%s listen %s %d 3"):format(q(payload), ip, port)))
    assert.are.equal("ready", l:read("l"))
    local out, err, code = U.ctr(root, { "run", "--rm", "-v", tooldir .. ":/t:ro", "busybox",
      "/t/payload", "rawudp", "eth0", dst, tostring(port), "secret-probe" })
    local got = l:read("a")
    l:close()
    assert.are.equal(0, code, out .. err)
    assert.matches("sent from ", out)
    return got
  end

  it("a raw frame to the gateway's MAC for 127.0.0.1 does not reach a host listener on 127.0.0.1", function()
    local got = attack("127.0.0.1", "127.0.0.1", 47011)
    assert.are.equal("NONE\n", got)
  end)

  it("(control) the same frame for the gateway's own address is received", function()
    local n = bridge()
    local got = attack(n.gateway, n.gateway, 47012)
    assert.are.equal("GOT secret-probe\n", got)
  end)

  it("a port published on 127.0.0.1 still answers, and the drop rule goes with the network", function()
    local _, err, code = U.ctr(root, { "run", "-d", "--name", "web", "-p", "127.0.0.1:47013:8080", "busybox",
      "sh", "-c", "mkdir -p /srv && echo hello-published > /srv/index.html && exec httpd -f -p 8080 -h /srv" })
    assert.are.equal(0, code, err)
    local body = U.wait_for(function()
      local out, _, c = U.sh(q(payload) .. " tcpget 127.0.0.1 47013")
      return c == 0 and out:match("\r?\n\r?\n(.*)$") or nil
    end, 10)
    assert.are.equal("hello-published\n", body)
    local n = bridge()
    local raw = U.sh("nft list chain ip luac-ctr raw_pre")
    assert.matches("type filter hook prerouting priority raw;.*iifname @bridges ip daddr 127%.0%.0%.0/8 drop", raw)
    assert.truthy(U.sh("nft list set ip luac-ctr bridges"):find('"' .. n.bridge .. '"', 1, true))
    U.rm_all(root)
    assert.is_nil(U.sh("nft list set ip luac-ctr bridges"):find(n.bridge, 1, true))
  end)
end)
