/*
 * Client addresses: the key the gateway's per-address limits use, and a
 * count of the connections each address holds open.
 *
 * A client address is an IPv4 address or the /64 of an IPv6 one, since one
 * IPv6 client usually holds a whole /64. The failed-authentication limit
 * (authfail.h) and the connection cap per address (httpd.c) both key on it.
 *
 * The count lives in an open-addressing table of fixed size, made for at
 * most max_addresses addresses at once (the server's connection cap: no
 * more addresses can hold a connection than there are connections), so it
 * is never more than half full and never drops an address. Its hash is
 * keyed with random multipliers chosen at creation, so that a client that
 * picks its addresses cannot make them collide. Used from the event loop
 * thread only.
 */
#ifndef BW_GW_PEERS_H
#define BW_GW_PEERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define BW_PEER_KEY_LEN 16

/* The key of addr: IPv4 as an IPv4-mapped IPv6 address, IPv6 cut to its
 * /64. 0, or -1 for a family without one (key zeroed). */
int bw_peer_key(const struct sockaddr *addr, uint8_t key[BW_PEER_KEY_LEN]);

typedef struct bw_peers bw_peers_t;

/* A count for up to max_addresses addresses at once (at least 1). 0,
 * BW_EINVAL or BW_ENOMEM. */
int bw_peers_create(size_t max_addresses, bw_peers_t **out);
void bw_peers_free(bw_peers_t *peers);
/* Counts one more connection of key: 0, or BW_ELIMIT (nothing counted)
 * when max_addresses other addresses are counted already. The cap per
 * address is the caller's, read with bw_peers_count first. */
int bw_peers_take(bw_peers_t *peers, const uint8_t key[BW_PEER_KEY_LEN]);
/* Gives back one connection bw_peers_take counted for key. */
void bw_peers_give(bw_peers_t *peers, const uint8_t key[BW_PEER_KEY_LEN]);
/* The connections counted for key. */
unsigned bw_peers_count(const bw_peers_t *peers, const uint8_t key[BW_PEER_KEY_LEN]);

#endif
