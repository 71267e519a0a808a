/*
 * Per-request memory arenas.
 *
 * Every RPC call and every HTTP request owns one arena. Allocations are bump
 * pointers into chunks that are freed together when the arena is destroyed.
 * Resources that are not plain memory (libpq results, jansson values) are
 * released by cleanup hooks registered on the arena, run in reverse order.
 */
#ifndef BW_ARENA_H
#define BW_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

typedef struct bw_arena bw_arena_t;
typedef void (*bw_arena_cleanup_fn)(void *ptr);

/* Returns a new arena (caller owns; free with bw_arena_destroy), NULL on OOM. */
bw_arena_t *bw_arena_create(size_t first_chunk);
/* Runs the cleanup hooks, then frees every chunk. Accepts NULL. */
void bw_arena_destroy(bw_arena_t *arena);
/* Runs the cleanup hooks and forgets all allocations, keeping the first chunk. */
void bw_arena_reset(bw_arena_t *arena);

/* Memory owned by the arena, aligned for any type; NULL on OOM. */
void *bw_arena_alloc(bw_arena_t *arena, size_t size);
void *bw_arena_calloc(bw_arena_t *arena, size_t count, size_t size);
char *bw_arena_strdup(bw_arena_t *arena, const char *s);
char *bw_arena_strndup(bw_arena_t *arena, const char *s, size_t n);
char *bw_arena_printf(bw_arena_t *arena, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Whether ptr points into memory of the arena (walks its chunks, which are
 * few: they grow geometrically). */
int bw_arena_owns(const bw_arena_t *arena, const void *ptr);

/* Calls fn(ptr) when the arena is reset or destroyed. Returns 0 or BW_ENOMEM;
 * on failure fn(ptr) is called at once so the resource never leaks. */
int bw_arena_on_cleanup(bw_arena_t *arena, bw_arena_cleanup_fn fn, void *ptr);

/* A protobuf-c allocator drawing from the arena (free is a no-op). The
 * returned struct is borrowed from the arena. */
ProtobufCAllocator *bw_arena_protobuf_allocator(bw_arena_t *arena);

#endif
