/*
 * Failed authentications per client address: a token bucket per address
 * (an IPv4 address, or the /64 of an IPv6 one, since one IPv6 client
 * usually holds a whole /64). Each failed authentication takes a token; an
 * address with none left is refused (429) before its credentials are even
 * looked at, so guessing keys costs the guesser time and the backends
 * nothing. Tokens come back at a steady rate up to the burst.
 *
 * The table has a fixed size: when an address's probe sequence is full,
 * the bucket closest to full is dropped (a full bucket is the same as none).
 * A handle made in main and passed in, as the key cache and the rate
 * limiter are; used from the event loop thread only.
 */
#ifndef BW_GW_AUTHFAIL_H
#define BW_GW_AUTHFAIL_H

#include <sys/socket.h>

typedef struct bw_authfail bw_authfail_t;

/* per_sec 0 turns the limit off. capacity_pow2: buckets, a power of two
 * (at least 16). 0, BW_EINVAL or BW_ENOMEM. */
int bw_authfail_create(double per_sec, double burst, unsigned capacity_pow2, bw_authfail_t **out);
void bw_authfail_destroy(bw_authfail_t *af);
/* Whether addr may authenticate now: 0, or BW_ELIMIT with *retry_after_sec
 * (at least 1) set. now_ns is a monotonic clock reading. */
int bw_authfail_check(bw_authfail_t *af, const struct sockaddr *addr, long long now_ns,
                      int *retry_after_sec);
/* Records one failed authentication of addr. */
void bw_authfail_record(bw_authfail_t *af, const struct sockaddr *addr, long long now_ns);

#endif
