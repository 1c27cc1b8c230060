/*
 * rest_composite.c - Composite (/composite: references @{ref.path}, 25
 * subrequests, allOrNone -> PROCESSING_HALTED) and Composite Batch
 * (/composite/batch: haltOnError -> 412 BATCH_PROCESSING_HALTED, one API
 * call per subrequest). Subrequests run through the normal REST routes.
 *
 * allOrNone runs the subrequests in one store transaction: when one fails,
 * every earlier change is undone (created records removed, updates,
 * deletes and undeletes reverted) and none of their notifications reach
 * the stream side.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "rest.h"
#include "sfc/common.h"

#define MAX_SUB 25

struct sub {
    const char *ref;
    int status;
    cJSON *body; /* parsed response body or NULL */
    char created[19];
};

/* Decodes "a=1&b=2" into a JSON object of strings. */
static cJSON *decode_args(const char *q)
{
    cJSON *o = cJSON_CreateObject();
    char *copy = sfc_xstrdup(q), *save = NULL, *tok;

    for (tok = strtok_r(copy, "&", &save); tok;
         tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '='), *c;
        if (!eq)
            continue;
        *eq = '\0';
        for (c = eq + 1; *c; c++)
            if (*c == '+')
                *c = ' ';
        MHD_http_unescape(eq + 1);
        cJSON_AddStringToObject(o, tok, eq + 1);
    }
    free(copy);
    return o;
}

/* Runs one subrequest; @url is "/services/data/vNN.N/..." or "vNN.N/...". */
static void run_sub(struct rest_ctx *parent,
                    const char *method,
                    const char *url,
                    const cJSON *body,
                    int *status,
                    cJSON **out)
{
    char *full = url[0] == '/' ? sfc_xstrdup(url)
                               : sfc_xasprintf("/services/data/%s", url);
    char *q = strchr(full, '?'), *printed = NULL;
    struct sim_request req = *parent->req;
    struct sim_response resp;
    struct rest_ctx c = *parent;
    cJSON *args;
    const char *seg, *slash;
    double v = 0;

    if (q)
        *q++ = '\0';
    args = decode_args(q ? q : "");
    seg = full + 15;
    slash = strchr(seg, '/');
    memset(&resp, 0, sizeof(resp));
    resp.status = 500;
    if (strncmp(full, "/services/data/v", 16) != 0 ||
        !sim_parse_version(seg, &v) || !slash) {
        sim_response_error(&resp, 400, "INVALID_URL",
                           "The URL is not a REST data API URL", false);
    } else {
        printed = body ? sfc_json_print(body) : NULL;
        req.method = method;
        req.path = full;
        req.query = q ? q : "";
        req.body = printed ? printed : "";
        req.body_len = strlen(req.body);
        req.conn = NULL;
        req.synthetic_args = args;
        c.req = &req;
        c.resp = &resp;
        c.rest = slash;
        c.vnum = v;
        snprintf(c.version, sizeof(c.version), "%.1f", v);
        rest_dispatch(&c);
    }
    *status = resp.status;
    *out = resp.body_len ? cJSON_Parse(resp.body) : NULL;
    sim_response_clear(&resp);
    cJSON_Delete(args);
    free(printed);
    free(full);
}

/* Follows "id", "records[0].Id", "a.b" in @root; NULL when absent. */
static const cJSON *walk(const cJSON *root, const char *path)
{
    char *copy = sfc_xstrdup(path), *save = NULL, *tok;
    const cJSON *cur = root;

    for (tok = strtok_r(copy, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save)) {
        char *br = strchr(tok, '[');
        if (br)
            *br = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
        while (br && cur) {
            cur = cJSON_GetArrayItem(cur, atoi(br + 1));
            br = strchr(br + 1, '[');
        }
    }
    free(copy);
    return cur;
}

/* Replaces every @{ref.path} in @in; NULL when a reference is unknown. */
static char *resolve_refs(const char *in, const struct sub *subs, size_t n)
{
    struct sfc_buf b;
    const char *p = in;

    sfc_buf_init(&b, 0);
    sfc_buf_append(&b, "", 0);
    while (*p) {
        const char *at = strstr(p, "@{"), *end, *dot;
        const cJSON *v = NULL;
        size_t i;
        if (!at) {
            sfc_buf_append(&b, p, strlen(p));
            break;
        }
        sfc_buf_append(&b, p, (size_t)(at - p));
        end = strchr(at, '}');
        dot = end ? memchr(at, '.', (size_t)(end - at)) : NULL;
        for (i = 0; dot && i < n; i++)
            if (subs[i].ref && strlen(subs[i].ref) == (size_t)(dot - at - 2) &&
                strncmp(subs[i].ref, at + 2, (size_t)(dot - at - 2)) == 0) {
                char *path = sfc_xstrndup(dot + 1, (size_t)(end - dot - 1));
                v = walk(subs[i].body, path);
                free(path);
            }
        if (cJSON_IsString(v))
            sfc_buf_append(&b, v->valuestring, strlen(v->valuestring));
        else if (cJSON_IsNumber(v))
            sfc_buf_appendf(&b, "%.15g", v->valuedouble);
        else {
            sfc_buf_free(&b);
            return NULL;
        }
        p = end + 1;
    }
    return b.data ? sfc_buf_steal(&b) : sfc_xstrdup("");
}

static cJSON *halted_body(const char *code, const char *msg)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "errorCode", code);
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddItemToArray(arr, e);
    return arr;
}

/* Resolves references in one compositeRequest item and runs it. */
static void
run_item(struct rest_ctx *c, const cJSON *it, struct sub *subs, size_t i)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "method");
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(it, "url");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(it, "body");
    char *url =
        cJSON_IsString(u) ? resolve_refs(u->valuestring, subs, i) : NULL;
    char *btxt = b ? sfc_json_print(b) : NULL, *bres = NULL;
    cJSON *body = NULL;

    if (btxt) {
        bres = resolve_refs(btxt, subs, i);
        body = bres ? cJSON_Parse(bres) : NULL;
    }
    if (!cJSON_IsString(m) || !url || (btxt && !body)) {
        subs[i].status = 400;
        subs[i].body = halted_body("INVALID_REFERENCE",
                                   "A reference or the subrequest is invalid");
    } else {
        run_sub(c, m->valuestring, url, body, &subs[i].status, &subs[i].body);
        if (subs[i].status == 201 && strcmp(m->valuestring, "POST") == 0 &&
            cJSON_IsString(cJSON_GetObjectItem(subs[i].body, "id")))
            snprintf(subs[i].created, sizeof(subs[i].created), "%s",
                     cJSON_GetObjectItem(subs[i].body, "id")->valuestring);
    }
    cJSON_Delete(body);
    free(btxt);
    free(bres);
    free(url);
}

/* The answers of a rolled-back transaction (its changes are undone by
 * sim_store_tx_end). */
static void roll_back(struct sub *subs, size_t n, size_t failed)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (i == failed)
            continue;
        cJSON_Delete(subs[i].body);
        subs[i].status = 400;
        subs[i].body = halted_body("PROCESSING_HALTED",
                                   "The transaction was rolled back since "
                                   "another operation in the same "
                                   "transaction failed.");
    }
}

/* HTML-escapes every string in @j (--html-escape-composite). */
static void html_escape_all(cJSON *j)
{
    cJSON *it;
    if (cJSON_IsString(j)) {
        struct sfc_buf b;
        const char *p;
        sfc_buf_init(&b, 0);
        sfc_buf_append(&b, "", 0);
        for (p = j->valuestring; *p; p++) {
            const char *e = *p == '&'    ? "&amp;"
                            : *p == '<'  ? "&lt;"
                            : *p == '>'  ? "&gt;"
                            : *p == '"'  ? "&quot;"
                            : *p == '\'' ? "&#39;"
                                         : NULL;
            if (e)
                sfc_buf_append(&b, e, strlen(e));
            else
                sfc_buf_append(&b, p, 1);
        }
        cJSON_SetValuestring(j, b.data ? b.data : "");
        sfc_buf_free(&b);
        return;
    }
    cJSON_ArrayForEach(it, j) html_escape_all(it);
}

static cJSON *composite_response(struct sub *subs, size_t n)
{
    cJSON *out = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(out, "compositeResponse");
    size_t i;
    for (i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON *h = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "body",
                              subs[i].body ? subs[i].body : cJSON_CreateNull());
        subs[i].body = NULL;
        cJSON_AddItemToObject(o, "httpHeaders", h);
        cJSON_AddNumberToObject(o, "httpStatusCode", subs[i].status);
        cJSON_AddStringToObject(o, "referenceId",
                                subs[i].ref ? subs[i].ref : "");
        cJSON_AddItemToArray(arr, o);
    }
    return out;
}

void rest_composite(struct rest_ctx *c)
{
    cJSON *body = rest_parse_body(c);
    const cJSON *items, *it;
    struct sub subs[MAX_SUB];
    cJSON *out;
    size_t n = 0, i, failed = MAX_SUB;
    bool aon;

    if (!body)
        return;
    items = cJSON_GetObjectItemCaseSensitive(body, "compositeRequest");
    aon = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "allOrNone"));
    if (!cJSON_IsArray(items) || cJSON_GetArraySize(items) == 0 ||
        cJSON_GetArraySize(items) > MAX_SUB) {
        sim_response_error(c->resp, 400, "INVALID_FIELD",
                           "compositeRequest must have 1 to 25 subrequests",
                           false);
        cJSON_Delete(body);
        return;
    }
    memset(subs, 0, sizeof(subs));
    if (aon)
        sim_store_tx_begin(c->sim);
    cJSON_ArrayForEach(it, items)
    {
        const cJSON *ref = cJSON_GetObjectItemCaseSensitive(it, "referenceId");
        subs[n].ref = cJSON_IsString(ref) ? ref->valuestring : NULL;
        run_item(c, it, subs, n);
        if (subs[n].status >= 400 && failed == MAX_SUB)
            failed = n;
        n++;
        if (aon && failed < MAX_SUB)
            break;
    }
    if (aon)
        sim_store_tx_end(c->sim, failed == MAX_SUB);
    if (aon && failed < MAX_SUB) {
        for (i = n; i < (size_t)cJSON_GetArraySize(items); i++)
            subs[i].ref = cJSON_GetStringValue(cJSON_GetObjectItem(
                cJSON_GetArrayItem(items, (int)i), "referenceId"));
        n = (size_t)cJSON_GetArraySize(items);
        roll_back(subs, n, failed);
    }
    out = composite_response(subs, n);
    if (c->sim->opt.html_escape_composite)
        html_escape_all(out);
    sim_response_json(c->resp, 200, out);
    cJSON_Delete(body);
}

void rest_composite_batch(struct rest_ctx *c)
{
    cJSON *body = rest_parse_body(c), *out, *results;
    const cJSON *items, *it;
    bool halt, halted = false, errors = false;

    if (!body)
        return;
    items = cJSON_GetObjectItemCaseSensitive(body, "batchRequests");
    halt = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "haltOnError"));
    if (!cJSON_IsArray(items) || cJSON_GetArraySize(items) == 0 ||
        cJSON_GetArraySize(items) > MAX_SUB) {
        sim_response_error(c->resp, 400, "INVALID_BATCH_REQUEST",
                           "batchRequests must have 1 to 25 subrequests",
                           false);
        cJSON_Delete(body);
        return;
    }
    /* Each subrequest counts against the allocation; the batch once. */
    atomic_fetch_add(&c->sim->api_used, cJSON_GetArraySize(items) - 1);
    out = cJSON_CreateObject();
    cJSON_AddBoolToObject(out, "hasErrors", false);
    results = cJSON_AddArrayToObject(out, "results");
    cJSON_ArrayForEach(it, items)
    {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "method");
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(it, "url");
        cJSON *r = cJSON_CreateObject(), *rb = NULL;
        int st = 412;
        if (halted) {
            rb = halted_body("BATCH_PROCESSING_HALTED",
                             "Batch processing halted per request");
        } else if (!cJSON_IsString(m) || !cJSON_IsString(u)) {
            st = 400;
            rb = halted_body("INVALID_BATCH_REQUEST", "method and url");
        } else {
            run_sub(c, m->valuestring, u->valuestring,
                    cJSON_GetObjectItemCaseSensitive(it, "richInput"), &st,
                    &rb);
        }
        if (st >= 400) {
            errors = true;
            halted = halt;
        }
        cJSON_AddNumberToObject(r, "statusCode", st);
        cJSON_AddItemToObject(r, "result", rb ? rb : cJSON_CreateNull());
        cJSON_AddItemToArray(results, r);
    }
    cJSON_ReplaceItemInObject(out, "hasErrors", cJSON_CreateBool(errors));
    sim_response_json(c->resp, 200, out);
    cJSON_Delete(body);
}
