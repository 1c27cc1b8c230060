/*
 * The responder object and the request path: the routing key names a
 * method (a table row, or a declared method mapped onto one), the body is
 * checked as bytes before it is parsed, the arguments are bound as CPython
 * binds them and checked by their kinds, and the method runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rpc_int.h"

void sfc_rpc_options_init(struct sfc_rpc_options *o)
{
    memset(o, 0, sizeof(*o));
    o->service = "salesforce";
    o->request_max_bytes = 1u << 20;
    o->result_max_bytes = 8u << 20;
    o->query_all_max_records = 10000;
    o->coalesce_max_records = 200;
    o->schema_ttl_ms = 600000;
}

static const char **copy_strv(const char *const *v, size_t n)
{
    const char **out = sfc_xcalloc(n + 1, sizeof(char *));

    for (size_t i = 0; i < n; i++)
        out[i] = sfc_xstrdup(v[i]);
    return out;
}

static void free_strv(const char *const *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free((char *)v[i]);
    free((void *)v);
}

/* Declared methods name sObjects the allowlist allows. */
static bool
check_named(const struct sfc_rpc_options *o, char *errstr, size_t errstr_size)
{
    for (size_t i = 0; i < o->n_methods; i++) {
        const struct sfc_rpc_named_method *m = &o->methods[i];

        if (m->op == SFC_RPC_QUERY)
            continue;
        if (!sfc_api_name_valid(m->sobject)) {
            sfc_errstr_set(errstr, errstr_size,
                           "method %s: sobject is not a Salesforce API name",
                           m->name);
            return false;
        }
        if (!rpc_allow_listed(o->allow_sobjects, o->n_allow_sobjects,
                              m->sobject)) {
            sfc_errstr_set(errstr, errstr_size,
                           "method %s: sObject %s is not in "
                           "rpc.allow_sobjects",
                           m->name, m->sobject);
            return false;
        }
    }
    return true;
}

struct sfc_rpc *sfc_rpc_new(const struct sfc_rpc_options *o,
                            struct sfc_api_client *api,
                            char *errstr,
                            size_t errstr_size)
{
    struct sfc_rpc *r;
    struct sfc_rpc_named_method *m;

    if (!api || !o->service || !*o->service) {
        sfc_errstr_set(errstr, errstr_size,
                       "an api client and a service name are required");
        return NULL;
    }
    if (!check_named(o, errstr, errstr_size))
        return NULL;
    r = sfc_xcalloc(1, sizeof(*r));
    r->o = *o;
    r->o.service = sfc_xstrdup(o->service);
    r->prefix = sfc_xasprintf("%s.", o->service);
    r->prefix_len = strlen(r->prefix);
    r->o.allow_methods = copy_strv(o->allow_methods, o->n_allow_methods);
    r->o.allow_sobjects = copy_strv(o->allow_sobjects, o->n_allow_sobjects);
    m = sfc_xcalloc(o->n_methods + 1, sizeof(*m));
    for (size_t i = 0; i < o->n_methods; i++) {
        m[i] = o->methods[i];
        m[i].name = sfc_xstrdup(o->methods[i].name);
        m[i].sobject = sfc_xstrdup(o->methods[i].sobject);
        m[i].fields = copy_strv(o->methods[i].fields, o->methods[i].n_fields);
    }
    r->o.methods = m;
    r->ctx.api = api;
    r->ctx.query_all_max_records = o->query_all_max_records;
    if (o->coalesce_window_ms > 0)
        r->ctx.coalescer = rpc_coalescer_new(api, o->coalesce_window_ms,
                                             o->coalesce_max_records);
    if (o->n_allow_sobjects)
        r->schema = rpc_schema_new(api, o->schema_ttl_ms > 0 ? o->schema_ttl_ms
                                                             : 600000);
    return r;
}

void sfc_rpc_coalesce_stats(struct sfc_rpc *r,
                            uint64_t *creates,
                            uint64_t *requests)
{
    *creates = *requests = 0;
    if (r->ctx.coalescer)
        rpc_coalescer_stats(r->ctx.coalescer, creates, requests);
}

void sfc_rpc_destroy(struct sfc_rpc *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->o.n_methods; i++) {
        free((char *)r->o.methods[i].name);
        free((char *)r->o.methods[i].sobject);
        free_strv(r->o.methods[i].fields, r->o.methods[i].n_fields);
    }
    free((void *)r->o.methods);
    free_strv(r->o.allow_methods, r->o.n_allow_methods);
    free_strv(r->o.allow_sobjects, r->o.n_allow_sobjects);
    free((char *)r->o.service);
    free(r->prefix);
    rpc_coalescer_destroy(r->ctx.coalescer);
    rpc_schema_destroy(r->schema);
    free(r);
}

/* @len bytes as a C string for messages: NUL and invalid UTF-8 replaced. */
static char *shown_bytes(const char *s, size_t len)
{
    cJSON *tmp = cJSON_CreateString("");
    char *copy = sfc_xmalloc(len + 1), *out;

    for (size_t i = 0; i < len; i++)
        copy[i] = s[i] ? s[i] : '?';
    copy[len] = '\0';
    free(tmp->valuestring);
    tmp->valuestring = copy;
    rpc_utf8_repair(tmp);
    out = sfc_xstrdup(tmp->valuestring);
    cJSON_Delete(tmp);
    return out;
}

/* Whether validated JSON text holds an escaped NUL (\u0000) in a string:
 * every C string after the parser would end there. */
static bool has_nul_escape(const char *s, size_t len)
{
    bool in = false;

    for (size_t i = 0; i < len; i++) {
        if (!in) {
            in = s[i] == '"';
        } else if (s[i] == '\\') {
            if (i + 5 < len && s[i + 1] == 'u' &&
                memcmp(s + i + 2, "0000", 4) == 0)
                return true;
            i++;
        } else if (s[i] == '"') {
            in = false;
        }
    }
    return false;
}

static bool json_type(const char *ct, size_t len)
{
    static const char json[] = "application/json";
    size_t n = sizeof(json) - 1;

    return len >= n && strncasecmp(ct, json, n) == 0 &&
           (len == n || ct[n] == ';' || ct[n] == ' ');
}

/* Decodes the body into *root; an error object on failure. */
static cJSON *
decode(struct sfc_rpc *r, const struct sfc_rpc_request *req, cJSON **root)
{
    char err[160], *why, *ct;
    cJSON *e, *args, *kwargs;

    if (req->content_type && req->content_type_len &&
        !json_type(req->content_type, req->content_type_len)) {
        ct = shown_bytes(req->content_type, req->content_type_len > 64
                                                ? 64
                                                : req->content_type_len);
        why = sfc_xasprintf("Unsupported content type %s: use "
                            "application/json",
                            ct);
        e = rpc_err_malformed(why);
        free(why);
        free(ct);
        return e;
    }
    if (req->body_len > r->o.request_max_bytes) {
        why = sfc_xasprintf("Request body of %zu bytes exceeds the %zu-byte "
                            "limit (rpc.request_max_bytes)",
                            req->body_len, r->o.request_max_bytes);
        e = rpc_err_malformed(why);
        free(why);
        return e;
    }
    /* Strict: UTF-8, no raw control bytes (NUL included), nothing after. */
    if (!sfc_json_valid(req->body, req->body_len, err, sizeof(err))) {
        why = sfc_xasprintf("Request body is not valid JSON: %s", err);
        e = rpc_err_malformed(why);
        free(why);
        return e;
    }
    if (has_nul_escape(req->body, req->body_len))
        return rpc_err_malformed("Request body holds a NUL character "
                                 "(\\u0000), which cannot be passed on");
    *root = sfc_json_parse(req->body, req->body_len, 0, err, sizeof(err));
    if (!*root) {
        why = sfc_xasprintf("Request body is not valid JSON: %s", err);
        e = rpc_err_malformed(why);
        free(why);
        return e;
    }
    args = cJSON_GetObjectItemCaseSensitive(*root, "args");
    kwargs = cJSON_GetObjectItemCaseSensitive(*root, "kwargs");
    if (!cJSON_IsObject(*root) || !args || !kwargs)
        return rpc_err_malformed("Message missing `args` or `kwargs`");
    if (!cJSON_IsArray(args) || !cJSON_IsObject(kwargs))
        return rpc_err_malformed("`args` must be a list and `kwargs` an "
                                 "object");
    return NULL;
}

/* The method a routing key names: a declared one, else a built-in. */
static bool find_method(struct sfc_rpc *r,
                        const struct sfc_rpc_request *req,
                        char **name,
                        const struct sfc_rpc_named_method **named,
                        const struct rpc_method **builtin)
{
    const char *rk = req->routing_key ? req->routing_key : "";
    size_t len = req->routing_key ? req->routing_key_len : 0, at = len;

    while (at > 0 && rk[at - 1] != '.')
        at--;
    *name = shown_bytes(rk + at, len - at);
    *named = NULL;
    *builtin = NULL;
    /* A name shown with replacements (a NUL, invalid UTF-8) names nothing. */
    if (len < r->prefix_len || memcmp(rk, r->prefix, r->prefix_len) != 0 ||
        at != r->prefix_len || strlen(*name) != len - at ||
        memcmp(*name, rk + at, len - at) != 0)
        return false;
    for (size_t i = 0; i < r->o.n_methods; i++)
        if (strcmp(r->o.methods[i].name, *name) == 0)
            *named = &r->o.methods[i];
    if (!*named)
        *builtin = rpc_method_find(*name);
    return *named || *builtin;
}

/* Binds, checks and runs @m with @args/@kwargs. */
static void run(struct sfc_rpc *r,
                const struct rpc_method *m,
                const cJSON *args,
                const cJSON *kwargs,
                struct rpc_outcome *out)
{
    const cJSON *bound[RPC_MAX_PARAMS] = {NULL};
    const char *names[RPC_MAX_PARAMS];
    struct rpc_args a;
    char err[512];

    rpc_method_param_names(m, names);
    if (!sfc_rpc_bind(m->name, names, rpc_method_arity(m),
                      rpc_method_required(m), args, kwargs, bound, err,
                      sizeof(err))) {
        out->error = rpc_err_signature(err);
        return;
    }
    if (rpc_args_check(r, m, bound, &a, out))
        m->run(&r->ctx, &a, out);
    rpc_args_clear(&a);
}

static void dispatch(struct sfc_rpc *r,
                     const struct sfc_rpc_request *req,
                     struct rpc_outcome *out)
{
    const struct sfc_rpc_named_method *named;
    const struct rpc_method *m;
    cJSON *root = NULL, *call_args = NULL, *none = NULL;
    char *name = NULL, err[512];

    if (!find_method(r, req, &name, &named, &m)) {
        out->error =
            sfc_rpc_error("MethodNotFound", NAMEKO_EXC "MethodNotFound", name);
    } else if (!rpc_allow_listed(r->o.allow_methods, r->o.n_allow_methods,
                                 name)) {
        out->error = rpc_err_not_allowed("method %s is not allowed "
                                         "(rpc.allow_methods)",
                                         name);
    } else if ((out->error = decode(r, req, &root)) == NULL) {
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(root, "args");
        const cJSON *kwargs = cJSON_GetObjectItemCaseSensitive(root, "kwargs");

        if (!named) {
            run(r, m, args, kwargs, out);
        } else if (rpc_named_translate(named, args, kwargs, &m, &call_args, err,
                                       sizeof(err))) {
            none = cJSON_CreateObject();
            run(r, m, call_args, none, out);
        } else {
            out->error = rpc_err_signature(err);
        }
    }
    cJSON_Delete(none);
    cJSON_Delete(call_args);
    cJSON_Delete(root);
    free(name);
}

char *sfc_rpc_handle(struct sfc_rpc *r,
                     const struct sfc_rpc_request *req,
                     bool *is_error)
{
    struct rpc_outcome out = {0};
    char *reply;
    bool failed;

    dispatch(r, req, &out);
    failed = out.error != NULL;
    if (failed) {
        cJSON_Delete(out.result);
        out.result = NULL;
    }
    reply = sfc_rpc_reply(out.result, out.error);
    if (strlen(reply) > r->o.result_max_bytes) {
        char *msg = sfc_xasprintf("the result is larger than %zu bytes "
                                  "(rpc.result_max_bytes)",
                                  r->o.result_max_bytes);

        free(reply);
        reply =
            sfc_rpc_reply(NULL, sfc_rpc_error("ResultTooLarge",
                                              SFC_EXC "ResultTooLarge", msg));
        free(msg);
        failed = true;
    }
    if (is_error)
        *is_error = failed;
    return reply;
}
