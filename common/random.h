/*
 * Random bytes for ids (UUIDv7s, request, trace and span ids) and retry
 * jitter: the kernel's CSPRNG, read into a buffer of the thread's own.
 */
#ifndef BW_RANDOM_H
#define BW_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* n random bytes from getrandom(2), taken from a per-thread buffer that is
 * filled 256 bytes at a time; each byte is handed out once and cleared.
 * 0, BW_EINVAL for n over 256 (ids take 8 to 24), or BW_EINTERNAL when
 * the kernel refuses. Keys and secrets take theirs from bw_random_bytes (ids.h), so
 * that no future secret waits in a buffer. */
int bw_random_pooled(uint8_t *buf, size_t n);
/* 64 bits from the same buffer, for retry jitter and the like; 0 when the
 * kernel refuses. */
uint64_t bw_random_u64(void);

#endif
