/*
 * The frameworks and their requirements, answered from the catalogue in
 * memory. Only the unmappedIn filter reads the database: the tenant's own
 * mapping rows can map what the shipped data leaves out. A requirement counts
 * as mapped into a framework when a row relates it to a requirement there
 * that ISO can cover, i.e. when it can move a gap analysis. Requirement pages
 * are keyset pages on the document order, with the last ref as the key.
 */
#include "bulwark/crosswalk/v1/crosswalk.pb-c.h"

#include "crosswalk.h"
#include "status.h"
#include "store.h"

#include <string.h>

int bw_cw_list_frameworks(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    (void)request;
    const bw_cw_catalogue_t *cat = bw_cw_service(call)->cat;
    Bulwark__Crosswalk__V1__ListFrameworksResponse *out = bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__crosswalk__v1__list_frameworks_response__init(out);
    out->frameworks = bw_arena_calloc(call->arena, cat->n_frameworks + 1, sizeof(void *));
    out->sources = bw_arena_calloc(call->arena, cat->n_sources + 1, sizeof(void *));
    if (out->frameworks == NULL || out->sources == NULL)
        return BW_ENOMEM;
    for (size_t i = 0; i < cat->n_frameworks; i++) {
        const bw_cw_framework_t *f = &cat->frameworks[i];
        Bulwark__Crosswalk__V1__Framework *m = bw_arena_alloc(call->arena, sizeof(*m));
        if (m == NULL)
            return BW_ENOMEM;
        bulwark__crosswalk__v1__framework__init(m);
        m->id = (char *)f->id;
        m->title = (char *)f->title;
        m->version = (char *)f->version;
        m->source = (char *)f->source;
        m->note = (char *)f->note;
        m->requirement_count = (int32_t)f->count;
        m->assessable_count = f->assessable;
        out->frameworks[out->n_frameworks++] = m;
    }
    for (size_t i = 0; i < cat->n_sources; i++) {
        const bw_cw_source_t *s = &cat->sources[i];
        Bulwark__Crosswalk__V1__Source *m = bw_arena_alloc(call->arena, sizeof(*m));
        if (m == NULL)
            return BW_ENOMEM;
        bulwark__crosswalk__v1__source__init(m);
        m->id = (char *)s->id;
        m->title = (char *)s->title;
        m->publisher = (char *)s->publisher;
        m->version = (char *)s->version;
        m->locator = (char *)s->locator;
        m->licence = (char *)s->licence;
        out->sources[out->n_sources++] = m;
    }
    *resp = &out->base;
    return 0;
}

static Bulwark__Crosswalk__V1__Requirement *requirement_msg(bw_call_t *call,
                                                            const bw_cw_catalogue_t *cat, int i)
{
    const bw_cw_req_t *r = &cat->reqs[i];
    Bulwark__Crosswalk__V1__Requirement *m = bw_arena_alloc(call->arena, sizeof(*m));
    if (m == NULL)
        return NULL;
    bulwark__crosswalk__v1__requirement__init(m);
    m->framework = (char *)cat->frameworks[r->framework].id;
    m->ref = (char *)r->ref;
    m->title = (char *)r->title;
    m->parent = (char *)r->parent_ref;
    m->kind = (char *)r->kind;
    m->theme = (char *)r->theme;
    m->assessable = r->assessable;
    m->iso_coverable = r->iso_coverable;
    m->obligation = (char *)r->obligation;
    m->source = (char *)r->source;
    return m;
}

int bw_cw_list_requirements(bw_call_t *call, const ProtobufCMessage *request,
                            ProtobufCMessage **resp)
{
    const Bulwark__Crosswalk__V1__ListRequirementsRequest *req = (const void *)request;
    const bw_cw_catalogue_t *cat = bw_cw_service(call)->cat;
    int fw = bw_cw_framework_find(cat, req->framework);
    if (fw < 0)
        return bw_call_fail(call, BW_ENOTFOUND, "FRAMEWORK_NOT_FOUND", "framework %s not found",
                            req->framework);
    int other = -1;
    if (req->unmapped_in[0] != '\0') {
        other = bw_cw_framework_find(cat, req->unmapped_in);
        if (other < 0)
            return bw_call_violation(call, "unmappedIn", "no framework %s", req->unmapped_in);
        if (other == fw)
            return bw_call_violation(call, "unmappedIn", "must name another framework");
    }
    char scope[96];
    snprintf(scope, sizeof(scope), "requirements:%s:%s", cat->frameworks[fw].id, req->unmapped_in);
    bw_page_t page;
    int err = bw_store_page(call, scope, req->page_size, req->page_token, &page);
    if (err != 0)
        return err;
    const bw_cw_framework_t *f = &cat->frameworks[fw];
    size_t from = f->first;
    if (page.after[0] != '\0') {
        int last = bw_cw_req_find(cat, fw, page.after);
        if (last < 0)
            return bw_call_violation(call, "pageToken", "is not a token this list returned");
        from = (size_t)last + 1;
    }

    /* mapped[i]: requirement i has a usable row into the other framework. */
    unsigned char *mapped = NULL;
    if (other >= 0) {
        bw_cw_override_t *ov;
        size_t n_ov;
        bw_cw_rowset_t rows;
        if ((err = bw_cw_load_overrides(call, &ov, &n_ov)) != 0 ||
            (err = bw_cw_mappings(call->arena, cat, ov, n_ov, fw, other, &rows)) != 0)
            return err;
        mapped = bw_arena_calloc(call->arena, cat->n_reqs + 1, 1);
        if (mapped == NULL)
            return BW_ENOMEM;
        /* A row to a duty ISO cannot cover supports it but covers nothing:
         * it does not make the source mapped. */
        for (size_t i = 0; i < rows.n; i++)
            if (rows.rows[i].rel != BW_CW_NOT_RELATED &&
                cat->reqs[rows.rows[i].target].iso_coverable)
                mapped[rows.rows[i].source] = 1;
    }

    Bulwark__Crosswalk__V1__ListRequirementsResponse *out =
        bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__crosswalk__v1__list_requirements_response__init(out);
    out->requirements = bw_arena_calloc(call->arena, (size_t)page.size + 1, sizeof(void *));
    if (out->requirements == NULL)
        return BW_ENOMEM;
    int found = 0;
    for (size_t i = from; i < f->first + f->count && found <= page.size; i++) {
        if (mapped != NULL && (!cat->reqs[i].assessable || mapped[i]))
            continue;
        if (found++ == page.size)
            break;
        if ((out->requirements[out->n_requirements++] = requirement_msg(call, cat, (int)i)) == NULL)
            return BW_ENOMEM;
    }
    size_t shown = out->n_requirements;
    err = bw_store_next_token(call, scope, &page, found,
                              shown > 0 ? out->requirements[shown - 1]->ref : "",
                              &out->next_page_token);
    if (err != 0)
        return err;
    *resp = &out->base;
    return 0;
}
