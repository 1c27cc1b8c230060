/*
 * rest_query.c - /query and /queryAll over the SOQL subset: schema checks
 * with Salesforce's echo+caret errors, one relationship hop, ORDER BY,
 * LIMIT/OFFSET, COUNT(), and nextRecordsUrl pagination through locators.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rest.h"
#include "soql_int.h"
#include "sfc/common.h"

#define MAX_LOCATORS   128
#define LEGACY_CURSORS 10 /* open cursors per user before API 56.0 */

struct locator {
    char id[24];
    char object[80];
    char user[19];
    cJSON *records; /* array of views */
    int64_t created_ms;
};

static pthread_mutex_t loc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct locator locs[MAX_LOCATORS];
static unsigned long long loc_counter;

void rest_query_reset(struct sim *sim)
{
    size_t i;
    (void)sim;
    pthread_mutex_lock(&loc_lock);
    for (i = 0; i < MAX_LOCATORS; i++) {
        cJSON_Delete(locs[i].records);
        memset(&locs[i], 0, sizeof(locs[i]));
    }
    pthread_mutex_unlock(&loc_lock);
}

static void echo_error(struct rest_ctx *c,
                       const char *text,
                       const char *at,
                       const char *code,
                       const char *msg)
{
    const char *pos = at ? strcasestr(text, at) : NULL;
    size_t col = pos ? (size_t)(pos - text) : 0, i;
    char *caret = sfc_xmalloc(col + 2), *full;

    for (i = 0; i < col; i++)
        caret[i] = ' ';
    caret[col] = '^';
    caret[col + 1] = '\0';
    full = sfc_xasprintf("\n%s\n%s\nERROR at Row:1:Column:%zu\n%s", text, caret,
                         col + 1, msg);
    sim_response_error(c->resp, 400, code, full, false);
    free(caret);
    free(full);
}

/* Resolves "Field" or "Rel.Field" on @o; NULL when unknown. */
static const struct sim_field *resolve(struct sim *sim,
                                       const struct sim_object *o,
                                       const char *name,
                                       const struct sim_field **rel)
{
    const char *dot = strchr(name, '.');
    const struct sim_object *target;
    size_t i;

    *rel = NULL;
    if (!dot)
        return sim_field_find(o, name);
    for (i = 0; i < o->n_fields; i++) {
        const struct sim_field *f = &o->fields[i];
        if (!f->relationship ||
            strlen(f->relationship) != (size_t)(dot - name) ||
            strncasecmp(f->relationship, name, (size_t)(dot - name)) != 0)
            continue;
        target = sim_object_find(sim, f->reference_to);
        if (!target || strchr(dot + 1, '.'))
            return NULL;
        *rel = f;
        return sim_field_find(target, dot + 1);
    }
    return NULL;
}

static bool check_field(struct rest_ctx *c,
                        const struct sim_soql *q,
                        const struct sim_object *o,
                        const char *name)
{
    const struct sim_field *rel;
    char msg[400];

    if (resolve(c->sim, o, name, &rel))
        return true;
    rest_no_such_column(msg, sizeof(msg), name, o->name);
    echo_error(c, q->text, name, "INVALID_FIELD", msg);
    return false;
}

static bool check_query(struct rest_ctx *c,
                        const struct sim_soql *q,
                        const struct sim_object *o)
{
    size_t i;
    for (i = 0; i < q->n_fields; i++)
        if (!check_field(c, q, o, q->fields[i]))
            return false;
    for (i = 0; i < q->n_where_fields; i++)
        if (!check_field(c, q, o, q->where_fields[i]))
            return false;
    for (i = 0; i < q->n_order; i++)
        if (!check_field(c, q, o, q->order[i].field))
            return false;
    return true;
}

struct hit {
    struct sim_rec *r;
    cJSON *eval; /* reference object with relationships, or NULL */
    size_t idx;
};

/* A reference view of @r plus nested related records, for evaluation. */
static cJSON *eval_record(struct sim *sim, struct sim_rec *r)
{
    cJSON *e = cJSON_CreateObject();
    const cJSON *it;
    size_t i;

    cJSON_ArrayForEach(it, r->data)
        cJSON_AddItemReferenceToObject(e, it->string, (cJSON *)it);
    for (i = 0; i < r->obj->n_fields; i++) {
        const struct sim_field *f = &r->obj->fields[i];
        const cJSON *v;
        struct sim_rec *t;
        if (!f->relationship)
            continue;
        v = cJSON_GetObjectItemCaseSensitive(r->data, f->name);
        t = cJSON_IsString(v) ? sim_rec_find(sim, v->valuestring) : NULL;
        if (t && !t->deleted)
            cJSON_AddItemReferenceToObject(e, f->relationship, t->data);
    }
    return e;
}

static int hit_cmp(const void *a, const void *b, void *q)
{
    const struct hit *x = a, *y = b;
    int c = sim_soql_compare(q, x->eval ? x->eval : x->r->data,
                             y->eval ? y->eval : y->r->data);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The selected fields of one hit, relationships as nested objects. */
static cJSON *
hit_view(struct rest_ctx *c, const struct sim_soql *q, const struct hit *h)
{
    cJSON *v = sim_rec_view(c->sim, h->r, (const char *const *)q->fields,
                            q->n_fields, c->version);
    size_t i;

    for (i = 0; i < q->n_fields; i++) {
        const struct sim_field *rel, *f;
        const cJSON *id;
        struct sim_rec *t;
        cJSON *nested;
        f = resolve(c->sim, h->r->obj, q->fields[i], &rel);
        if (!rel || !f)
            continue;
        id = cJSON_GetObjectItemCaseSensitive(h->r->data, rel->name);
        t = cJSON_IsString(id) ? sim_rec_find(c->sim, id->valuestring) : NULL;
        nested = cJSON_GetObjectItemCaseSensitive(v, rel->relationship);
        if (!t || t->deleted) {
            if (!nested)
                cJSON_AddNullToObject(v, rel->relationship);
            continue;
        }
        if (!nested || cJSON_IsNull(nested)) {
            const char *one[1] = {f->name};
            cJSON_DeleteItemFromObjectCaseSensitive(v, rel->relationship);
            cJSON_AddItemToObject(v, rel->relationship,
                                  sim_rec_view(c->sim, t, one, 1, c->version));
        } else if (!cJSON_GetObjectItemCaseSensitive(nested, f->name)) {
            const cJSON *val =
                cJSON_GetObjectItemCaseSensitive(t->data, f->name);
            cJSON_AddItemToObject(nested, f->name,
                                  val ? cJSON_Duplicate(val, true)
                                      : cJSON_CreateNull());
        }
    }
    return v;
}

static int batch_size(struct rest_ctx *c)
{
    const char *h = sim_request_header(c->req, "Sforce-Query-Options");
    const char *b = h ? strcasestr(h, "batchSize=") : NULL;
    int n = c->sim->opt.query_batch_size;

    if (b) {
        n = atoi(b + 10);
        if (n < 200)
            n = 200;
        if (n > 2000)
            n = 2000;
    }
    return n > 0 ? n : 2000;
}

static void page(struct rest_ctx *c,
                 cJSON *all,
                 size_t total,
                 size_t from,
                 const char *loc_id)
{
    cJSON *out = cJSON_CreateObject();
    cJSON *recs;
    size_t n = (size_t)batch_size(c), i;

    /* Salesforce does not promise the requested size: smaller pages. */
    if (c->sim->opt.random_pages && loc_id[0] && n > 200)
        n = 200 + (size_t)(sim_rand(c->sim) % (n - 199));

    cJSON_AddNumberToObject(out, "totalSize", (double)total);
    cJSON_AddBoolToObject(out, "done", from + n >= total);
    if (from + n < total) {
        char *u = sfc_xasprintf("/services/data/v%s/query/%s-%zu", c->version,
                                loc_id, from + n);
        cJSON_AddStringToObject(out, "nextRecordsUrl", u);
        free(u);
    }
    recs = cJSON_AddArrayToObject(out, "records");
    for (i = from; i < from + n && i < total; i++)
        cJSON_AddItemToArray(
            recs, cJSON_Duplicate(cJSON_GetArrayItem(all, (int)i), true));
    sim_response_json(c->resp, 200, out);
}

/* Legacy mode: a user's oldest open cursor is released at the 11th. */
static void release_oldest_of(const char *user)
{
    size_t i, n = 0, oldest = MAX_LOCATORS;
    for (i = 0; i < MAX_LOCATORS; i++) {
        if (!locs[i].records || strcmp(locs[i].user, user) != 0)
            continue;
        n++;
        if (oldest == MAX_LOCATORS ||
            locs[i].created_ms < locs[oldest].created_ms)
            oldest = i;
    }
    if (n >= LEGACY_CURSORS) {
        cJSON_Delete(locs[oldest].records);
        memset(&locs[oldest], 0, sizeof(locs[oldest]));
    }
}

/* Keeps @all for later pages; returns the locator id. */
static void
store_locator(struct rest_ctx *c, cJSON *all, const char *object, char out[24])
{
    size_t i, slot = 0;
    pthread_mutex_lock(&loc_lock);
    if (c->sim->opt.legacy_cursors)
        release_oldest_of(c->who.user_id);
    for (i = 0; i < MAX_LOCATORS; i++) {
        if (!locs[i].records) {
            slot = i;
            break;
        }
        if (locs[i].created_ms < locs[slot].created_ms)
            slot = i;
    }
    cJSON_Delete(locs[slot].records);
    snprintf(locs[slot].id, sizeof(locs[slot].id), "01g5g%013llu",
             ++loc_counter);
    snprintf(locs[slot].object, sizeof(locs[slot].object), "%s", object);
    snprintf(locs[slot].user, sizeof(locs[slot].user), "%s", c->who.user_id);
    locs[slot].records = all;
    locs[slot].created_ms = sfc_now_ms();
    memcpy(out, locs[slot].id, 24);
    pthread_mutex_unlock(&loc_lock);
}

static void next_page(struct rest_ctx *c, const char *locator)
{
    char id[24];
    size_t off = 0, i;
    const char *dash = strrchr(locator, '-');

    if (!dash || (size_t)(dash - locator) >= sizeof(id)) {
        sim_response_error(c->resp, 400, "INVALID_QUERY_LOCATOR",
                           "invalid query locator", false);
        return;
    }
    memcpy(id, locator, (size_t)(dash - locator));
    id[dash - locator] = '\0';
    off = (size_t)strtoull(dash + 1, NULL, 10);
    pthread_mutex_lock(&loc_lock);
    for (i = 0; i < MAX_LOCATORS; i++) {
        if (locs[i].records && strcmp(locs[i].id, id) == 0 &&
            sfc_now_ms() - locs[i].created_ms <=
                c->sim->opt.locator_ttl_s * 1000) {
            size_t total = (size_t)cJSON_GetArraySize(locs[i].records);
            locs[i].created_ms = sfc_now_ms(); /* expiry after inactivity */
            if (off <= total)
                page(c, locs[i].records, total, off, id);
            break;
        }
    }
    pthread_mutex_unlock(&loc_lock);
    if (i == MAX_LOCATORS || !c->resp->body)
        sim_response_error(c->resp, 400, "INVALID_QUERY_LOCATOR",
                           "invalid query locator", false);
}

static size_t collect(struct rest_ctx *c,
                      const struct sim_soql *q,
                      struct sim_object *o,
                      bool all,
                      struct hit **out)
{
    struct hit *h = sfc_xcalloc(o->n_recs + 1, sizeof(*h));
    size_t i, n = 0;

    for (i = 0; i < o->n_recs; i++) {
        struct sim_rec *r = o->recs[i];
        cJSON *e = NULL;
        if (r->deleted && !all)
            continue;
        if (q->has_rel)
            e = eval_record(c->sim, r);
        if (!sim_soql_match(q, e ? e : r->data)) {
            cJSON_Delete(e);
            continue;
        }
        h[n].r = r;
        h[n].eval = e;
        h[n].idx = i;
        n++;
    }
    if (q->n_order)
        qsort_r(h, n, sizeof(*h), hit_cmp, (void *)q);
    *out = h;
    return n;
}

static void
run(struct rest_ctx *c, struct sim_soql *q, struct sim_object *o, bool all)
{
    struct hit *h;
    size_t n, from, to, i;
    cJSON *views;
    char loc[24];

    sim_store_lock(c->sim);
    n = collect(c, q, o, all, &h);
    from = q->offset > 0 ? (size_t)q->offset : 0;
    if (from > n)
        from = n;
    to = q->limit >= 0 && from + (size_t)q->limit < n ? from + (size_t)q->limit
                                                      : n;
    views = cJSON_CreateArray();
    for (i = from; i < to && !q->count; i++)
        cJSON_AddItemToArray(views, hit_view(c, q, &h[i]));
    for (i = 0; i < n; i++)
        cJSON_Delete(h[i].eval);
    free(h);
    sim_store_unlock(c->sim);
    if (q->count) {
        cJSON *out = cJSON_CreateObject();
        cJSON_AddNumberToObject(out, "totalSize", (double)(to - from));
        cJSON_AddBoolToObject(out, "done", true);
        cJSON_AddArrayToObject(out, "records");
        sim_response_json(c->resp, 200, out);
        cJSON_Delete(views);
        return;
    }
    if (to - from <= (size_t)batch_size(c) && !c->sim->opt.random_pages) {
        page(c, views, to - from, 0, "");
        cJSON_Delete(views);
        return;
    }
    store_locator(c, views, o->name, loc);
    pthread_mutex_lock(&loc_lock);
    page(c, views, to - from, 0, loc);
    pthread_mutex_unlock(&loc_lock);
}

void rest_query(struct rest_ctx *c, bool all, const char *locator)
{
    const char *text = sim_request_arg(c->req, "q");
    char err[1024];
    const char *code = "MALFORMED_QUERY";
    struct sim_soql *q;
    struct sim_object *o;

    if (locator && *locator) {
        next_page(c, locator);
        return;
    }
    if (strcmp(c->req->method, "GET") != 0) {
        sim_response_error(c->resp, 405, "METHOD_NOT_ALLOWED",
                           "HTTP Method not allowed", false);
        return;
    }
    if (!text || !*text) {
        sim_response_error(c->resp, 400, "MALFORMED_QUERY",
                           "A query string has to be specified", false);
        return;
    }
    q = sim_soql_parse(text, err, sizeof(err), &code);
    if (!q) {
        sim_response_error(c->resp, 400, code, err, false);
        return;
    }
    sim_store_lock(c->sim);
    o = sim_object_find(c->sim, q->object);
    sim_store_unlock(c->sim);
    if (!o || o->is_event) {
        char msg[400];
        snprintf(msg, sizeof(msg),
                 "sObject type '%s' is not supported. If you are attempting "
                 "to use a custom object, be sure to append the '__c' after "
                 "the entity name. Please reference your WSDL or the "
                 "describe call for the appropriate names.",
                 q->object);
        echo_error(c, q->text, q->object, "INVALID_TYPE", msg);
    } else if (check_query(c, q, o)) {
        sim_stats_add(c->sim, all ? "queries_all" : "queries", 1);
        run(c, q, o, all);
    }
    sim_soql_free(q);
}
