/*
 * The API's roles in one table: the names credentials, routes (http.proto's
 * roles) and the OpenAPI document use, and their bits (route.h). The gateway
 * and tools/codegen both read it.
 */
#ifndef BW_GW_ROLES_H
#define BW_GW_ROLES_H

#include <stddef.h>

typedef struct bw_role_name {
    const char *name;   /* "board_member" */
    unsigned bit;       /* BW_ROLE_BOARD_MEMBER */
    const char *symbol; /* "BW_ROLE_BOARD_MEMBER", for generated code */
} bw_role_name_t;

extern const bw_role_name_t bw_roles[];
extern const size_t bw_n_roles;

/* The bit of the role named by the len bytes at name; 0 for no role. */
unsigned bw_role_bit(const char *name, size_t len);
/* The names of mask's roles, comma-separated in table order, cut at len. */
void bw_role_names(unsigned mask, char *buf, size_t len);

#endif
