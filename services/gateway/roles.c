/* The API's roles: see roles.h. */
#include "roles.h"

#include "route.h"

#include <stdio.h>
#include <string.h>

const bw_role_name_t bw_roles[] = {
    {"admin", BW_ROLE_ADMIN, "BW_ROLE_ADMIN"},
    {"editor", BW_ROLE_EDITOR, "BW_ROLE_EDITOR"},
    {"auditor", BW_ROLE_AUDITOR, "BW_ROLE_AUDITOR"},
    {"viewer", BW_ROLE_VIEWER, "BW_ROLE_VIEWER"},
    {"board_member", BW_ROLE_BOARD_MEMBER, "BW_ROLE_BOARD_MEMBER"},
};
const size_t bw_n_roles = sizeof(bw_roles) / sizeof(bw_roles[0]);

unsigned bw_role_bit(const char *name, size_t len)
{
    for (size_t i = 0; i < bw_n_roles; i++)
        if (strlen(bw_roles[i].name) == len && memcmp(bw_roles[i].name, name, len) == 0)
            return bw_roles[i].bit;
    return 0;
}

void bw_role_names(unsigned mask, char *buf, size_t len)
{
    size_t o = 0;
    if (len == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < bw_n_roles; i++) {
        if ((mask & bw_roles[i].bit) == 0)
            continue;
        int n = snprintf(buf + o, len - o, "%s%s", o ? "," : "", bw_roles[i].name);
        if (n < 0 || (size_t)n >= len - o)
            break;
        o += (size_t)n;
    }
}
