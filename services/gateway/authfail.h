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
 * Used from the event loop thread only.
 */
#ifndef BW_GW_AUTHFAIL_H
#define BW_GW_AUTHFAIL_H

#include <sys/socket.h>

/* per_sec 0 turns the limit off. capacity_pow2: buckets, a power of two. */
int bw_authfail_init(double per_sec, double burst, unsigned capacity_pow2);
void bw_authfail_free(void);
/* Whether addr may authenticate now: 0, or BW_ELIMIT with *retry_after_sec
 * (at least 1) set. now_ns is a monotonic clock reading. */
int bw_authfail_check(const struct sockaddr *addr, long long now_ns, int *retry_after_sec);
/* Records one failed authentication of addr. */
void bw_authfail_record(const struct sockaddr *addr, long long now_ns);

#endif
