/*
 * bulwarkctl keys: a tenant's API keys, with an admin key of that tenant
 * (BULWARK_API_KEY): the operator token manages tenants, not what is inside
 * them. A new or rotated key's secret is printed once, as the gateway shows
 * it once.
 */
#include "ctl.h"

#include <stdlib.h>
#include <string.h>

#define API_KEY "BULWARK_API_KEY (an admin key of the tenant)"
#define N(a) (sizeof(a) / sizeof((a)[0]))

static const ctl_column_t key_columns[] = {
    {"ID", "id"},
    {"NAME", "name"},
    {"ROLE", "role"},
    {"EXPIRES", "expireTime"},
    {"LAST_USED", "lastUseTime"},
    {"CREATED", "createTime"},
};
static const ctl_column_t key_fields[] = {
    {"id", "id"},
    {"name", "name"},
    {"role", "role"},
    {"board member", "boardMember"},
    {"expires", "expireTime"},
    {"previous secret until", "previousSecretExpireTime"},
    {"secret", "secret"},
};

/* Sends method to fmt (with id escaped into its %s), with the tenant key;
 * the reply in *r when 2xx, else its problem said and its status returned. */
/* A reply holding a key and its secret, shown once. */
static void show_secret(const ctl_t *ctl, json_t *key)
{
    if (ctl->json) {
        ctl_json(stdout, key);
        return;
    }
    ctl_fields(stdout, key, key_fields, N(key_fields));
    fprintf(stderr, "bulwarkctl: the secret is shown only now; keep it\n");
}

int ctl_keys_create(const ctl_t *ctl, int argc, char **argv)
{
    const char *name = NULL, *role = NULL, *member = NULL, *expire = NULL, *pos[1];
    int n_pos;
    ctl_opt_t opts[] = {{"--name", &name, NULL},
                        {"--role", &role, NULL},
                        {"--board-member", &member, NULL},
                        {"--expire-time", &expire, NULL}};
    int rc = ctl_args("keys create", argc, argv, opts, N(opts), pos, 0, 0, &n_pos);
    if (rc == 0)
        rc = ctl_need("keys create", ctl->api_key, API_KEY);
    if (rc == 0)
        rc = ctl_need("keys create", name, "--name NAME");
    if (rc == 0)
        rc = ctl_need("keys create", role, "--role admin|editor|auditor|viewer|board_member");
    if (rc != 0)
        return rc;
    json_t *req = json_pack("{s:s, s:s}", "name", name, "role", role);
    if (member != NULL)
        json_object_set_new(req, "boardMember", json_string(member));
    if (expire != NULL)
        json_object_set_new(req, "expireTime", json_string(expire));
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    ctl_resp_t r;
    rc = body != NULL ? ctl_call(ctl, ctl->api_key, "POST", "/v1/api-keys%s", "", body, &r)
                      : CTL_FAILED;
    free(body);
    if (rc != 0)
        return rc;
    show_secret(ctl, r.json);
    ctl_resp_free(&r);
    return CTL_OK;
}

int ctl_keys_list(const ctl_t *ctl, int argc, char **argv)
{
    const char *pos[1];
    int n_pos;
    int rc = ctl_args("keys list", argc, argv, NULL, 0, pos, 0, 0, &n_pos);
    if (rc == 0)
        rc = ctl_need("keys list", ctl->api_key, API_KEY);
    if (rc != 0)
        return rc;
    return ctl_list_all(ctl, ctl->api_key, "/v1/api-keys?pageSize=500", "apiKeys", key_columns,
                        N(key_columns));
}

int ctl_keys_revoke(const ctl_t *ctl, int argc, char **argv)
{
    const char *pos[1];
    int n_pos;
    int rc = ctl_args("keys revoke", argc, argv, NULL, 0, pos, 1, 1, &n_pos);
    if (rc == 0)
        rc = ctl_need("keys revoke", ctl->api_key, API_KEY);
    if (rc != 0)
        return rc;
    ctl_resp_t r;
    if ((rc = ctl_call(ctl, ctl->api_key, "DELETE", "/v1/api-keys/%s", pos[0], NULL, &r)) != 0)
        return rc;
    ctl_resp_free(&r);
    if (ctl->json)
        printf("{\"id\": \"%s\", \"revoked\": true}\n", pos[0]);
    else
        printf("revoked %s\n", pos[0]);
    return CTL_OK;
}

int ctl_keys_rotate(const ctl_t *ctl, int argc, char **argv)
{
    const char *grace = "0", *pos[1];
    int n_pos;
    ctl_opt_t opts[] = {{"--grace-period", &grace, NULL}};
    int rc = ctl_args("keys rotate", argc, argv, opts, N(opts), pos, 1, 1, &n_pos);
    if (rc == 0)
        rc = ctl_need("keys rotate", ctl->api_key, API_KEY);
    if (rc != 0)
        return rc;
    char *end;
    long seconds = strtol(grace, &end, 10);
    if (*end != '\0' || end == grace) {
        fprintf(stderr, "bulwarkctl: keys rotate: --grace-period is a number of seconds\n");
        return CTL_USAGE;
    }
    char body[64];
    /* The gateway bounds it, and names the field when it is out of bounds. */
    snprintf(body, sizeof(body), "{\"gracePeriodSeconds\":%ld}", seconds);
    ctl_resp_t r;
    if ((rc = ctl_call(ctl, ctl->api_key, "POST", "/v1/api-keys/%s:rotate", pos[0], body, &r)) != 0)
        return rc;
    show_secret(ctl, r.json);
    ctl_resp_free(&r);
    return CTL_OK;
}
