/*
 * Bump allocator with cleanup hooks; see arena.h. Chunks grow geometrically so
 * a request that builds a large reply costs few mallocs.
 */
#include "arena.h"
#include "status.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BW_ARENA_ALIGN 16

typedef struct bw_arena_chunk {
    struct bw_arena_chunk *next;
    size_t size;
    size_t used;
    _Alignas(BW_ARENA_ALIGN) unsigned char mem[];
} bw_arena_chunk_t;

typedef struct bw_arena_hook {
    struct bw_arena_hook *next;
    bw_arena_cleanup_fn fn;
    void *ptr;
} bw_arena_hook_t;

struct bw_arena {
    bw_arena_chunk_t *chunks; /* newest first; the last one is the first chunk */
    bw_arena_hook_t *hooks;   /* newest first */
    size_t first_size;
    ProtobufCAllocator pb;
};

static bw_arena_chunk_t *chunk_new(size_t size)
{
    bw_arena_chunk_t *c = malloc(sizeof(*c) + size);
    if (c == NULL)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

static void *pb_alloc(void *data, size_t size)
{
    return bw_arena_alloc(data, size);
}

static void pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

bw_arena_t *bw_arena_create(size_t first_chunk)
{
    if (first_chunk < 256)
        first_chunk = 256;
    bw_arena_t *a = malloc(sizeof(*a));
    if (a == NULL)
        return NULL;
    a->chunks = chunk_new(first_chunk);
    if (a->chunks == NULL) {
        free(a);
        return NULL;
    }
    a->hooks = NULL;
    a->first_size = first_chunk;
    a->pb.alloc = pb_alloc;
    a->pb.free = pb_free;
    a->pb.allocator_data = a;
    return a;
}

static void run_hooks(bw_arena_t *a)
{
    while (a->hooks != NULL) {
        bw_arena_hook_t *h = a->hooks;
        a->hooks = h->next;
        h->fn(h->ptr);
    }
}

void bw_arena_reset(bw_arena_t *a)
{
    if (a == NULL)
        return;
    run_hooks(a);
    bw_arena_chunk_t *c = a->chunks;
    while (c->next != NULL) {
        bw_arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    c->used = 0;
    a->chunks = c;
}

void bw_arena_destroy(bw_arena_t *a)
{
    if (a == NULL)
        return;
    bw_arena_reset(a);
    free(a->chunks);
    free(a);
}

void *bw_arena_alloc(bw_arena_t *a, size_t size)
{
    size = (size + BW_ARENA_ALIGN - 1) & ~(size_t)(BW_ARENA_ALIGN - 1);
    if (size == 0)
        size = BW_ARENA_ALIGN;
    bw_arena_chunk_t *c = a->chunks;
    if (c->size - c->used < size) {
        size_t want = c->size * 2;
        if (want < size)
            want = size;
        if (want > SIZE_MAX / 2)
            return NULL;
        bw_arena_chunk_t *n = chunk_new(want);
        if (n == NULL)
            return NULL;
        n->next = c;
        a->chunks = c = n;
    }
    void *p = c->mem + c->used;
    c->used += size;
    return p;
}

void *bw_arena_calloc(bw_arena_t *a, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    void *p = bw_arena_alloc(a, count * size);
    if (p != NULL)
        memset(p, 0, count * size);
    return p;
}

char *bw_arena_strndup(bw_arena_t *a, const char *s, size_t n)
{
    char *p = bw_arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *bw_arena_strdup(bw_arena_t *a, const char *s)
{
    return bw_arena_strndup(a, s, strlen(s));
}

/* Formats into the room left in the newest chunk, which is nearly always
 * enough: one pass over the format instead of a count and a write. */
char *bw_arena_printf(bw_arena_t *a, const char *fmt, ...)
{
    bw_arena_chunk_t *c = a->chunks;
    /* Rounded down, so that the allocation of what fits stays in place. */
    size_t room = (c->size - c->used) & ~(size_t)(BW_ARENA_ALIGN - 1);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf((char *)c->mem + c->used, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    if ((size_t)n < room)
        return bw_arena_alloc(a, (size_t)n + 1); /* what was just written */
    char *p = bw_arena_alloc(a, (size_t)n + 1);
    if (p == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int bw_arena_owns(const bw_arena_t *a, const void *ptr)
{
    const unsigned char *p = ptr;
    for (const bw_arena_chunk_t *c = a->chunks; c != NULL; c = c->next)
        if (p >= c->mem && p < c->mem + c->size)
            return 1;
    return 0;
}

int bw_arena_on_cleanup(bw_arena_t *a, bw_arena_cleanup_fn fn, void *ptr)
{
    bw_arena_hook_t *h = bw_arena_alloc(a, sizeof(*h));
    if (h == NULL) {
        fn(ptr);
        return BW_ENOMEM;
    }
    h->fn = fn;
    h->ptr = ptr;
    h->next = a->hooks;
    a->hooks = h;
    return 0;
}

ProtobufCAllocator *bw_arena_protobuf_allocator(bw_arena_t *a)
{
    return &a->pb;
}
