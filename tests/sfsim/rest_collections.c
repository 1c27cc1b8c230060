/*
 * rest_collections.c - sObject Collections (/composite/sobjects): create,
 * update, upsert, delete (200-record cap), retrieve by GET or by POST with
 * an ids+fields body (2,000 ids); allOrNone with
 * ALL_OR_NONE_OPERATION_ROLLED_BACK; per-record errors use "statusCode".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rest.h"
#include "sfc/common.h"

#define MAX_RECORDS  200
#define MAX_RETRIEVE 2000 /* ids per retrieve */

enum op { OP_CREATE, OP_UPDATE, OP_UPSERT, OP_DELETE };

struct item {
    struct sim_object *o;
    struct sim_rec *r;
    const cJSON *fields; /* borrowed from the body */
    char id[19];
    bool ok;
    int created; /* upsert: 1/0, else -1 */
    struct sim_dml_error err;
};

static cJSON *result_json(const struct item *it)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *errs;
    if (it->ok)
        cJSON_AddStringToObject(o, "id", it->id);
    else if (it->id[0])
        cJSON_AddStringToObject(o, "id", it->id);
    else
        cJSON_AddNullToObject(o, "id");
    cJSON_AddBoolToObject(o, "success", it->ok);
    errs = cJSON_AddArrayToObject(o, "errors");
    if (!it->ok)
        cJSON_AddItemToArray(errs, rest_error_obj(&it->err, "statusCode"));
    if (it->created >= 0 && it->ok)
        cJSON_AddBoolToObject(o, "created", it->created == 1);
    return o;
}

static void send_results(struct rest_ctx *c, struct item *items, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    size_t i;
    for (i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, result_json(&items[i]));
    sim_response_json(c->resp, 200, arr);
}

/* Resolves the object/record of each item; false marks item failed. */
static bool prepare(struct rest_ctx *c,
                    enum op op,
                    struct item *it,
                    const cJSON *rec,
                    struct sim_object *upsert_obj)
{
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(rec, "attributes");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(attrs, "type");
    const cJSON *id = cJSON_GetObjectItem(rec, "id");

    it->fields = rec;
    it->created = op == OP_UPSERT ? 0 : -1;
    it->o = upsert_obj;
    if (!it->o && cJSON_IsString(type))
        it->o = sim_object_find(c->sim, type->valuestring);
    if (!it->o) {
        sim_dml_error_set(&it->err, 400, "INVALID_TYPE", NULL,
                          "sObject type not specified or not supported");
        return false;
    }
    if (op == OP_CREATE && id) {
        sim_dml_error_set(&it->err, 400, "INVALID_FIELD", NULL,
                          "Cannot specify Id in an insert call");
        return false;
    }
    if (op == OP_UPDATE) {
        it->r =
            cJSON_IsString(id) ? sim_rec_find(c->sim, id->valuestring) : NULL;
        if (!it->r || it->r->obj != it->o) {
            sim_dml_error_set(&it->err, 400, "MALFORMED_ID", "Id",
                              "Id in the record is not valid");
            return false;
        }
        memcpy(it->id, it->r->id, 19);
    }
    return true;
}

static void roll_back_all(struct item *items, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (!items[i].ok)
            continue;
        items[i].ok = false;
        sim_dml_error_set(&items[i].err, 400,
                          "ALL_OR_NONE_OPERATION_ROLLED_BACK", NULL,
                          "Record rolled back because not all records were "
                          "valid and the request was using AllOrNone "
                          "header");
    }
}

static void apply(struct rest_ctx *c,
                  enum op op,
                  struct item *it,
                  const struct sim_field *ext)
{
    cJSON *urls = NULL;
    bool created = false;
    int rc;

    switch (op) {
    case OP_CREATE:
        it->ok = sim_rec_create(c->sim, it->o, it->fields, c->who.user_id,
                                c->tx, false, it->id, &it->err);
        break;
    case OP_UPDATE:
        it->ok = sim_rec_update(c->sim, it->r, it->fields, c->who.user_id,
                                c->tx, &it->err);
        break;
    case OP_DELETE:
        it->ok = sim_rec_delete(c->sim, it->r, c->who.user_id, c->tx, &it->err);
        break;
    case OP_UPSERT: {
        const cJSON *v = cJSON_GetObjectItem(it->fields, ext->name);
        if (!cJSON_IsString(v) || !v->valuestring[0]) {
            sim_dml_error_set(&it->err, 400, "MISSING_ARGUMENT", ext->name,
                              "%s not specified", ext->name);
            break;
        }
        rc = rest_upsert(c, it->o, ext, v->valuestring, it->fields, it->id,
                         &created, &it->err, &urls);
        if (rc == 300)
            sim_dml_error_set(&it->err, 300, "DUPLICATE_EXTERNAL_ID", ext->name,
                              "A user-specified external ID matches more "
                              "than one record during an upsert");
        cJSON_Delete(urls);
        it->ok = rc == 200 || rc == 201;
        it->created = created ? 1 : 0;
        break;
    }
    }
}

/* allOrNone dry run: validates every item; false when one fails. */
static bool
dry_run(struct rest_ctx *c, enum op op, struct item *items, size_t n)
{
    size_t i;
    bool all_ok = true;
    for (i = 0; i < n; i++) {
        if (!items[i].ok)
            all_ok = false;
        else if (op == OP_CREATE &&
                 !sim_rec_check(c->sim, items[i].o, NULL, items[i].fields,
                                &items[i].err))
            items[i].ok = all_ok = false;
        else if (op == OP_UPDATE &&
                 !sim_rec_check(c->sim, items[i].o, items[i].r, items[i].fields,
                                &items[i].err))
            items[i].ok = all_ok = false;
    }
    return all_ok;
}

static void run_items(struct rest_ctx *c,
                      enum op op,
                      struct item *items,
                      size_t n,
                      bool all_or_none,
                      const struct sim_field *ext)
{
    size_t i;

    sim_store_lock(c->sim);
    if (all_or_none && !dry_run(c, op, items, n)) {
        roll_back_all(items, n);
    } else if (all_or_none) {
        /* The dry run found no error; a failure it could not foresee
         * (e.g. two records of the batch clashing on a unique field)
         * undoes the whole batch. */
        bool all_ok = true;

        sim_store_tx_begin(c->sim);
        for (i = 0; i < n && all_ok; i++) {
            apply(c, op, &items[i], ext);
            all_ok = items[i].ok;
        }
        sim_store_tx_end(c->sim, all_ok);
        if (!all_ok)
            roll_back_all(items, n);
    } else {
        for (i = 0; i < n; i++)
            if (items[i].ok)
                apply(c, op, &items[i], ext);
    }
    sim_store_unlock(c->sim);
    send_results(c, items, n);
}

static void write_records(struct rest_ctx *c,
                          enum op op,
                          struct sim_object *uo,
                          const struct sim_field *ext)
{
    cJSON *body = rest_parse_body(c);
    const cJSON *recs, *rec;
    struct item *items;
    size_t n, i = 0;
    bool aon;

    if (!body)
        return;
    recs = cJSON_GetObjectItemCaseSensitive(body, "records");
    aon = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "allOrNone"));
    n = cJSON_IsArray(recs) ? (size_t)cJSON_GetArraySize(recs) : 0;
    if (!cJSON_IsArray(recs) || n == 0) {
        sim_response_error(c->resp, 400, "INVALID_FIELD",
                           "Json Deserialization failed on token 'null' and "
                           "has left off in the middle of parsing a row. "
                           "Will go to end of row to begin parsing the next "
                           "row",
                           false);
    } else if (n > MAX_RECORDS) {
        sim_response_error(c->resp, 400, "EXCEEDED_ID_LIMIT",
                           "record limit reached. cannot submit more than "
                           "200 records into this call",
                           false);
    } else {
        items = sfc_xcalloc(n, sizeof(*items));
        /* Held until the results are built: items point at records. */
        sim_store_lock(c->sim);
        cJSON_ArrayForEach(rec, recs)
        {
            items[i].ok = prepare(c, op, &items[i], rec, uo);
            i++;
        }
        run_items(c, op, items, n, aon, ext);
        sim_store_unlock(c->sim);
        free(items);
    }
    cJSON_Delete(body);
}

static size_t split_ids(const char *csv, char ids[][19], size_t max, bool *bad)
{
    char *copy = sfc_xstrdup(csv), *save = NULL, *tok;
    size_t n = 0;
    *bad = false;
    for (tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (n == max) {
            *bad = true;
            break;
        }
        snprintf(ids[n], 19, "%.18s", tok);
        n++;
    }
    free(copy);
    return n;
}

static void delete_records(struct rest_ctx *c)
{
    const char *csv = sim_request_arg(c->req, "ids");
    const char *aon = sim_request_arg(c->req, "allOrNone");
    char(*mine)[19];
    struct item *items;
    size_t n, i;
    bool bad;

    if (!csv || !*csv) {
        sim_response_error(c->resp, 400, "REQUIRED_FIELD_MISSING",
                           "At least 1 Id is required.", false);
        return;
    }
    mine = sfc_xcalloc(MAX_RECORDS + 1, sizeof(*mine));
    n = split_ids(csv, mine, MAX_RECORDS, &bad);
    if (bad) {
        free(mine);
        sim_response_error(c->resp, 400, "EXCEEDED_ID_LIMIT",
                           "record limit reached. cannot submit more than "
                           "200 records into this call",
                           false);
        return;
    }
    items = sfc_xcalloc(n, sizeof(*items));
    sim_store_lock(c->sim);
    for (i = 0; i < n; i++) {
        items[i].created = -1;
        items[i].r = sim_rec_find(c->sim, mine[i]);
        snprintf(items[i].id, sizeof(items[i].id), "%s", mine[i]);
        items[i].ok = items[i].r != NULL;
        if (items[i].r) {
            items[i].o = items[i].r->obj;
            memcpy(items[i].id, items[i].r->id, 19);
            if (items[i].r->deleted) {
                items[i].ok = false;
                sim_dml_error_set(&items[i].err, 404, "ENTITY_IS_DELETED", NULL,
                                  "entity is deleted");
            }
        } else {
            sim_dml_error_set(&items[i].err, 400, "INVALID_CROSS_REFERENCE_KEY",
                              NULL, "invalid cross reference id");
        }
    }
    run_items(c, OP_DELETE, items, n, aon && strcasecmp(aon, "true") == 0,
              NULL);
    sim_store_unlock(c->sim);
    free(items);
    free(mine);
}

/* Ids and fields to retrieve, from the query string or a JSON body. */
struct wanted {
    char (*ids)[19]; /* as given, cut to 18 chars */
    size_t n_ids;
    char **fields; /* borrowed from @store or @body */
    size_t n_fields;
    char *store; /* the query's copy of "fields" */
    cJSON *body;
};

static void wanted_free(struct wanted *w)
{
    free(w->ids);
    free(w->fields);
    free(w->store);
    cJSON_Delete(w->body);
}

static bool too_many_ids(struct rest_ctx *c)
{
    sim_response_error(c->resp, 400, "EXCEEDED_ID_LIMIT",
                       "record limit reached. cannot submit more than 2000 "
                       "records into this call",
                       false);
    return false;
}

static void add_field_name(struct wanted *w, char *name)
{
    while (*name == ' ')
        name++;
    w->fields = sfc_xrealloc(w->fields, (w->n_fields + 1) * sizeof(char *));
    w->fields[w->n_fields++] = name;
}

/* GET ?ids=a,b&fields=X,Y. False with the answer sent. */
static bool wanted_from_query(struct rest_ctx *c, struct wanted *w)
{
    const char *csv = sim_request_arg(c->req, "ids");
    const char *fl = sim_request_arg(c->req, "fields");
    char *save = NULL, *tok;
    bool bad;

    if (!csv || !fl) {
        sim_response_error(c->resp, 400, "MALFORMED_QUERY",
                           "ids and fields are required", false);
        return false;
    }
    w->ids = sfc_xcalloc(MAX_RETRIEVE + 1, sizeof(*w->ids));
    w->n_ids = split_ids(csv, w->ids, MAX_RETRIEVE, &bad);
    if (bad)
        return too_many_ids(c);
    w->store = sfc_xstrdup(fl);
    for (tok = strtok_r(w->store, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save))
        add_field_name(w, tok);
    return true;
}

/* POST {"ids": [...], "fields": [...]}. False with the answer sent. */
static bool wanted_from_body(struct rest_ctx *c, struct wanted *w)
{
    const cJSON *ids, *fields, *it;

    w->body = rest_parse_body(c);
    if (!w->body)
        return false;
    ids = cJSON_GetObjectItemCaseSensitive(w->body, "ids");
    fields = cJSON_GetObjectItemCaseSensitive(w->body, "fields");
    if (!cJSON_IsArray(ids) || !cJSON_IsArray(fields) ||
        cJSON_GetArraySize(ids) == 0 || cJSON_GetArraySize(fields) == 0) {
        sim_response_error(c->resp, 400, "JSON_PARSER_ERROR",
                           "ids and fields are required", false);
        return false;
    }
    if (cJSON_GetArraySize(ids) > MAX_RETRIEVE)
        return too_many_ids(c);
    w->ids = sfc_xcalloc((size_t)cJSON_GetArraySize(ids), sizeof(*w->ids));
    cJSON_ArrayForEach(it, ids)
    {
        if (cJSON_IsString(it))
            snprintf(w->ids[w->n_ids], 19, "%.18s", it->valuestring);
        w->n_ids++;
    }
    cJSON_ArrayForEach(it, fields)
    {
        if (!cJSON_IsString(it)) {
            sim_response_error(c->resp, 400, "JSON_PARSER_ERROR",
                               "fields must be strings", false);
            return false;
        }
        add_field_name(w, it->valuestring);
    }
    return true;
}

/*
 * GET ?ids=&fields= or POST {"ids","fields"} (up to 2,000): one entry per
 * id in request order, null for an id that is unknown, deleted or of
 * another object; an unknown field fails the whole request.
 */
static void retrieve(struct rest_ctx *c, struct sim_object *o, bool post)
{
    struct wanted w;
    cJSON *arr;
    size_t i;

    memset(&w, 0, sizeof(w));
    if (!(post ? wanted_from_body(c, &w) : wanted_from_query(c, &w)))
        goto out;
    for (i = 0; i < w.n_fields; i++) {
        if (!sim_field_find(o, w.fields[i])) {
            char msg[400];

            rest_no_such_column(msg, sizeof(msg), w.fields[i], o->name);
            sim_response_error(c->resp, 400, "INVALID_FIELD", msg, false);
            goto out;
        }
    }
    arr = cJSON_CreateArray();
    sim_store_lock(c->sim);
    for (i = 0; i < w.n_ids; i++) {
        struct sim_rec *r = sim_rec_find(c->sim, w.ids[i]);
        if (!r || r->deleted || r->obj != o)
            cJSON_AddItemToArray(arr, cJSON_CreateNull());
        else
            cJSON_AddItemToArray(
                arr, sim_rec_view(c->sim, r, (const char *const *)w.fields,
                                  w.n_fields, c->version));
    }
    sim_store_unlock(c->sim);
    sim_response_json(c->resp, 200, arr);
out:
    wanted_free(&w);
}

void rest_collections(struct rest_ctx *c, const char *after)
{
    const char *m = c->req->method;
    char oname[128] = "", fname[128] = "";
    struct sim_object *o = NULL;
    const struct sim_field *f = NULL;

    if (*after == '/')
        sscanf(after, "/%127[^/]/%127[^/]", oname, fname);
    if (oname[0]) {
        o = sim_object_find(c->sim, oname);
        if (!o) {
            rest_not_found(c);
            return;
        }
    }
    if (!o && strcmp(m, "POST") == 0)
        write_records(c, OP_CREATE, NULL, NULL);
    else if (!o && strcmp(m, "PATCH") == 0)
        write_records(c, OP_UPDATE, NULL, NULL);
    else if (!o && strcmp(m, "DELETE") == 0)
        delete_records(c);
    else if (o && fname[0] && strcmp(m, "PATCH") == 0) {
        f = sim_field_find(o, fname);
        if (!f || !f->external_id) {
            rest_ext_not_found(c, fname);
            return;
        }
        write_records(c, OP_UPSERT, o, f);
    } else if (o && !fname[0] && strcmp(m, "GET") == 0)
        retrieve(c, o, false);
    else if (o && !fname[0] && strcmp(m, "POST") == 0)
        retrieve(c, o, true);
    else
        sim_response_error(c->resp, 405, "METHOD_NOT_ALLOWED",
                           "HTTP Method not allowed", false);
}
