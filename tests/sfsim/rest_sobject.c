/*
 * rest_sobject.c - /sobjects/<X>[/<id>|/<ExtField>/<value>|/describe|
 * /updated/|/deleted/]: create, retrieve (fields=), update (PATCH 204),
 * delete, upsert by external id (201/200/204/300), describe, replication
 * (rest_replication.c), StreamingChannel push.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rest.h"
#include "sfc/common.h"

void rest_no_such_column(char *out,
                         size_t sz,
                         const char *field,
                         const char *object)
{
    snprintf(out, sz,
             "No such column '%s' on entity '%s'. If you are attempting to "
             "use a custom field, be sure to append the '__c' after the "
             "custom field name. Please reference your WSDL or the describe "
             "call for the appropriate names.",
             field, object);
}

void rest_not_found(struct rest_ctx *c)
{
    sim_response_error(c->resp, 404, "NOT_FOUND",
                       "The requested resource does not exist", false);
}

cJSON *rest_error_obj(const struct sim_dml_error *e, const char *code_key)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *f;
    if (strcmp(code_key, "statusCode") == 0)
        cJSON_AddStringToObject(o, code_key, e->code);
    cJSON_AddStringToObject(o, "message", e->message);
    if (strcmp(code_key, "errorCode") == 0)
        cJSON_AddStringToObject(o, code_key, e->code);
    f = cJSON_AddArrayToObject(o, "fields");
    if (e->field[0])
        cJSON_AddItemToArray(f, cJSON_CreateString(e->field));
    return o;
}

void rest_dml_error(struct rest_ctx *c, const struct sim_dml_error *e)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, rest_error_obj(e, "errorCode"));
    sim_response_json(c->resp, e->status ? e->status : 400, arr);
}

cJSON *rest_parse_body(struct rest_ctx *c)
{
    cJSON *j = c->req->body_len
                   ? cJSON_ParseWithLength(c->req->body, c->req->body_len)
                   : NULL;
    if (!j) {
        const char *at = cJSON_GetErrorPtr();
        long col =
            at && at >= c->req->body && at <= c->req->body + c->req->body_len
                ? (long)(at - c->req->body) + 1
                : 1;
        char msg[200];
        snprintf(msg, sizeof(msg),
                 c->req->body_len
                     ? "Unexpected character: expected a valid value "
                       "(number, String, array, object, 'true', 'false' or "
                       "'null') at [line:1, column:%ld]"
                     : "No content to map due to end-of-input at [line:1, "
                       "column:%ld]",
                 col);
        sim_response_error(c->resp, 400, "JSON_PARSER_ERROR", msg, false);
    }
    return j;
}

static void
save_result(struct rest_ctx *c, int status, const char *id, int created)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddBoolToObject(o, "success", true);
    cJSON_AddArrayToObject(o, "errors");
    if (created >= 0)
        cJSON_AddBoolToObject(o, "created", created);
    sim_response_json(c->resp, status, o);
}

static void do_create(struct rest_ctx *c, struct sim_object *o)
{
    cJSON *body = rest_parse_body(c);
    struct sim_dml_error err;
    char id[19];

    if (!body)
        return;
    if (cJSON_GetObjectItem(body, "Id") && cJSON_IsObject(body)) {
        sim_dml_error_set(&err, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", "Id",
                          "Record ID: cannot specify Id in an insert call");
        rest_dml_error(c, &err);
    } else if (sim_rec_create(c->sim, o, body, c->who.user_id, c->tx, false, id,
                              &err)) {
        save_result(c, 201, id, -1);
    } else {
        rest_dml_error(c, &err);
    }
    cJSON_Delete(body);
}

/* Splits "A,B,C" into fields checked against @o; false with a 400 sent. */
static bool parse_fields(struct rest_ctx *c,
                         struct sim_object *o,
                         const char *list,
                         char ***out,
                         size_t *n)
{
    char *copy = sfc_xstrdup(list), *save = NULL, *tok;
    bool ok = true;

    *out = NULL;
    *n = 0;
    for (tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!sim_field_find(o, tok)) {
            char msg[400];
            rest_no_such_column(msg, sizeof(msg), tok, o->name);
            sim_response_error(c->resp, 400, "INVALID_FIELD", msg, false);
            ok = false;
            break;
        }
        *out = sfc_xrealloc(*out, (*n + 1) * sizeof(char *));
        (*out)[(*n)++] = sfc_xstrdup(tok);
    }
    free(copy);
    return ok;
}

static void free_fields(char **f, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        free(f[i]);
    free(f);
}

static void do_get(struct rest_ctx *c, struct sim_rec *r)
{
    const char *fl = sim_request_arg(c->req, "fields");
    char **fields = NULL;
    size_t n = 0;
    cJSON *v;

    if (fl && !parse_fields(c, r->obj, fl, &fields, &n))
        return;
    sim_store_lock(c->sim);
    v = sim_rec_view(c->sim, r, fl ? (const char *const *)fields : NULL, n,
                     c->version);
    sim_store_unlock(c->sim);
    free_fields(fields, n);
    sim_response_json(c->resp, 200, v);
}

static void deleted(struct rest_ctx *c)
{
    sim_response_error(c->resp, 404, "ENTITY_IS_DELETED", "entity is deleted",
                       true);
}

static void by_id(struct rest_ctx *c, struct sim_rec *r)
{
    const char *m = c->req->method;
    struct sim_dml_error err;
    cJSON *body;

    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
        if (r->deleted)
            deleted(c);
        else
            do_get(c, r);
    } else if (strcmp(m, "PATCH") == 0) {
        body = rest_parse_body(c);
        if (!body)
            return;
        if (sim_rec_update(c->sim, r, body, c->who.user_id, c->tx, &err))
            sim_response_set(c->resp, 204, "", NULL, 0);
        else
            rest_dml_error(c, &err);
        cJSON_Delete(body);
    } else if (strcmp(m, "DELETE") == 0) {
        if (sim_rec_delete(c->sim, r, c->who.user_id, c->tx, &err))
            sim_response_set(c->resp, 204, "", NULL, 0);
        else
            rest_dml_error(c, &err);
    } else {
        sim_response_error(c->resp, 405, "METHOD_NOT_ALLOWED",
                           "HTTP Method not allowed", false);
    }
}

/* Live records of @o whose @f equals @value (case-insensitive). */
static size_t find_by_ext(struct sim_object *o,
                          const struct sim_field *f,
                          const char *value,
                          struct sim_rec **out,
                          size_t max)
{
    size_t i, n = 0;
    for (i = 0; i < o->n_recs; i++) {
        const cJSON *v;
        if (o->recs[i]->deleted)
            continue;
        v = cJSON_GetObjectItemCaseSensitive(o->recs[i]->data, f->name);
        if (cJSON_IsString(v) && strcasecmp(v->valuestring, value) == 0) {
            if (n < max)
                out[n] = o->recs[i];
            n++;
        }
    }
    return n;
}

int rest_upsert(struct rest_ctx *c,
                struct sim_object *o,
                const struct sim_field *f,
                const char *value,
                const cJSON *body,
                char id[19],
                bool *created,
                struct sim_dml_error *err,
                cJSON **urls)
{
    struct sim_rec *m[8];
    cJSON *fields;
    size_t n, i;
    int rc = -1;

    if (c->sim->opt.reject_extid_in_body &&
        cJSON_GetObjectItemCaseSensitive(body, f->name)) {
        sim_dml_error_set(err, 400, "INVALID_FIELD", f->name,
                          "The external ID field %s may not be set in the "
                          "request body of an upsert",
                          f->name);
        return -1;
    }
    sim_store_lock(c->sim);
    n = find_by_ext(o, f, value, m, 8);
    if (n > 1) {
        *urls = cJSON_CreateArray();
        for (i = 0; i < n && i < 8; i++) {
            char *u = sfc_xasprintf("/services/data/v%s/sobjects/%s/%s",
                                    c->version, o->name, m[i]->id);
            cJSON_AddItemToArray(*urls, cJSON_CreateString(u));
            free(u);
        }
        rc = 300;
        goto out_unlock;
    }
    fields = cJSON_Duplicate(body, true);
    cJSON_DeleteItemFromObject(fields, f->name);
    cJSON_DeleteItemFromObject(fields, "Id");
    if (n == 1) {
        *created = false;
        memcpy(id, m[0]->id, 19);
        rc = sim_rec_update(c->sim, m[0], fields, c->who.user_id, c->tx, err)
                 ? 200
                 : -1;
    } else {
        cJSON_AddStringToObject(fields, f->name, value);
        *created = true;
        rc = sim_rec_create(c->sim, o, fields, c->who.user_id, c->tx, false, id,
                            err)
                 ? 201
                 : -1;
    }
    cJSON_Delete(fields);
out_unlock:
    sim_store_unlock(c->sim);
    return rc;
}

void rest_ext_not_found(struct rest_ctx *c, const char *field)
{
    char msg[200];
    snprintf(msg, sizeof(msg),
             "Provided external ID field does not exist or is not "
             "accessible: %s",
             field);
    sim_response_error(c->resp, 404, "NOT_FOUND", msg, false);
}

static void do_upsert(struct rest_ctx *c,
                      struct sim_object *o,
                      const struct sim_field *f,
                      const char *value)
{
    cJSON *body = rest_parse_body(c), *urls = NULL;
    struct sim_dml_error err;
    bool created = false;
    char id[19];
    int rc;

    if (!body)
        return;
    rc = rest_upsert(c, o, f, value, body, id, &created, &err, &urls);
    cJSON_Delete(body);
    if (rc == 300)
        sim_response_json(c->resp, 300, urls);
    else if (rc < 0)
        rest_dml_error(c, &err);
    else if (c->vnum >= 46.0)
        save_result(c, rc, id, created);
    else if (created)
        save_result(c, 201, id, -1);
    else
        sim_response_set(c->resp, 204, "", NULL, 0);
}

static void by_ext(struct rest_ctx *c,
                   struct sim_object *o,
                   const char *field,
                   const char *value)
{
    const struct sim_field *f = sim_field_find(o, field);
    struct sim_rec *m[2];
    size_t n;

    if (!f || !(f->external_id || f->type == SIM_F_ID) || !*value) {
        rest_ext_not_found(c, field);
        return;
    }
    if (f->type == SIM_F_ID) {
        struct sim_rec *r;
        sim_store_lock(c->sim);
        r = sim_rec_find(c->sim, value);
        sim_store_unlock(c->sim);
        if (!r || r->obj != o)
            rest_not_found(c);
        else
            by_id(c, r);
        return;
    }
    if (strcmp(c->req->method, "PATCH") == 0) {
        do_upsert(c, o, f, value);
        return;
    }
    sim_store_lock(c->sim);
    n = find_by_ext(o, f, value, m, 2);
    sim_store_unlock(c->sim);
    if (n == 0)
        rest_not_found(c);
    else if (n > 1)
        sim_response_error(c->resp, 300, "MULTIPLE_CHOICES",
                           "More than one record found", false);
    else
        by_id(c, m[0]);
}

static void push(struct rest_ctx *c, const char *id)
{
    cJSON *ch = sim_record_get(c->sim, "StreamingChannel", id);
    if (!ch || strcmp(c->req->method, "POST") != 0) {
        cJSON_Delete(ch);
        rest_not_found(c);
        return;
    }
    sim_stream_push(c->sim->stream, ch, c->req, c->resp);
    cJSON_Delete(ch);
}

void rest_sobject(struct rest_ctx *c, const char *after)
{
    char name[128], seg1[256], seg2[512];
    const char *m = c->req->method;
    struct sim_object *o;
    struct sim_rec *r;
    int n;

    seg1[0] = seg2[0] = '\0';
    n = sscanf(after, "%127[^/]/%255[^/]/%511[^\n]", name, seg1, seg2);
    if (n < 1) {
        rest_not_found(c);
        return;
    }
    sim_store_lock(c->sim);
    o = sim_object_find(c->sim, name);
    sim_store_unlock(c->sim);
    if (!o) {
        rest_not_found(c);
        return;
    }
    if (n == 1) {
        if (strcmp(m, "POST") == 0)
            do_create(c, o);
        else if (strcmp(m, "GET") == 0)
            rest_describe(c, o, false);
        else
            sim_response_error(c->resp, 405, "METHOD_NOT_ALLOWED",
                               "HTTP Method not allowed", false);
        return;
    }
    if (strcmp(seg1, "describe") == 0 &&
        (n == 2 || !seg2[0] || strcmp(seg2, "/") == 0)) {
        rest_describe(c, o, true);
        return;
    }
    if ((strcmp(seg1, "updated") == 0 || strcmp(seg1, "deleted") == 0) &&
        n == 2) {
        rest_replication(c, o, seg1[0] == 'd');
        return;
    }
    if (n == 3 && strcmp(seg2, "push") == 0 &&
        strcmp(o->name, "StreamingChannel") == 0) {
        push(c, seg1);
        return;
    }
    /* The record pointer stays valid while the (recursive) store lock is
     * held: /_sim/reset and composite rollbacks free records. */
    sim_store_lock(c->sim);
    if (n == 3) {
        by_ext(c, o, seg1, seg2);
    } else {
        char id18[19];
        r = sim_rec_find(c->sim, seg1);
        if (!sim_id_normalize(seg1, id18))
            rest_ext_not_found(c, seg1);
        else if (!r || r->obj != o)
            rest_not_found(c);
        else
            by_id(c, r);
    }
    sim_store_unlock(c->sim);
}
