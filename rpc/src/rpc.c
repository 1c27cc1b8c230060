/* The responder object and the request path: decode, route, allow, call. */
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
    r = sfc_xcalloc(1, sizeof(*r));
    r->o = *o;
    r->api = api;
    r->o.service = sfc_xstrdup(o->service);
    r->prefix = sfc_xasprintf("%s.", o->service);
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
    if (o->coalesce_window_ms > 0)
        r->coalescer = rpc_coalescer_new(api, o->coalesce_window_ms,
                                         o->coalesce_max_records);
    return r;
}

void sfc_rpc_coalesce_stats(struct sfc_rpc *r,
                            uint64_t *creates,
                            uint64_t *requests)
{
    *creates = *requests = 0;
    if (r->coalescer)
        rpc_coalescer_stats(r->coalescer, creates, requests);
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
    rpc_coalescer_destroy(r->coalescer);
    free(r);
}

static bool listed(const char *const *v, size_t n, const char *s)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v[i], s) == 0)
            return true;
    return false;
}

bool rpc_sobject_allowed(struct sfc_rpc *r,
                         const char *sobject,
                         struct rpc_outcome *out)
{
    char *msg;

    if (listed(r->o.allow_sobjects, r->o.n_allow_sobjects, sobject))
        return true;
    msg = sfc_xasprintf("sObject %s is not allowed (rpc.allow_sobjects)",
                        sobject);
    out->error =
        sfc_rpc_error("NotAllowed", "sfconnector.exceptions.NotAllowed", msg);
    free(msg);
    return false;
}

static cJSON *malformed(const char *why)
{
    return sfc_rpc_error("MalformedRequest", NAMEKO_EXC "MalformedRequest",
                         why);
}

/* Decodes the body into args and kwargs; an error object on failure. */
static cJSON *decode(struct sfc_rpc *r,
                     const char *content_type,
                     const char *body,
                     size_t len,
                     cJSON **root)
{
    char err[160], *why;
    cJSON *e;

    if (content_type && *content_type &&
        strncasecmp(content_type, "application/json", 16) != 0) {
        why = sfc_xasprintf("Unsupported content type %s: use "
                            "application/json",
                            content_type);
        e = malformed(why);
        free(why);
        return e;
    }
    *root = sfc_json_parse(body, len, r->o.request_max_bytes, err, sizeof(err));
    if (!*root) {
        why = sfc_xasprintf("Request body is not valid JSON: %s", err);
        e = malformed(why);
        free(why);
        return e;
    }
    if (!cJSON_IsObject(*root) ||
        !cJSON_GetObjectItemCaseSensitive(*root, "args") ||
        !cJSON_GetObjectItemCaseSensitive(*root, "kwargs"))
        return malformed("Message missing `args` or `kwargs`");
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(*root, "args")) ||
        !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(*root, "kwargs")))
        return malformed("`args` must be a list and `kwargs` an object");
    return NULL;
}

char *sfc_rpc_handle(struct sfc_rpc *r,
                     const char *routing_key,
                     const char *content_type,
                     const char *body,
                     size_t len,
                     bool *is_error)
{
    struct rpc_outcome out = {0};
    const char *method = routing_key ? strrchr(routing_key, '.') : NULL;
    const struct sfc_rpc_named_method *named = NULL;
    cJSON *root = NULL;
    char *reply;

    method = method ? method + 1 : routing_key ? routing_key : "";
    for (size_t i = 0; i < r->o.n_methods; i++)
        if (strcmp(r->o.methods[i].name, method) == 0)
            named = &r->o.methods[i];
    if (!routing_key || strncmp(routing_key, r->prefix, strlen(r->prefix)) ||
        (!named && !rpc_is_builtin(method))) {
        out.error = sfc_rpc_error("MethodNotFound", NAMEKO_EXC "MethodNotFound",
                                  method);
    } else if (!listed(r->o.allow_methods, r->o.n_allow_methods, method)) {
        char *msg = sfc_xasprintf("method %s is not allowed "
                                  "(rpc.allow_methods)",
                                  method);

        out.error = sfc_rpc_error("NotAllowed",
                                  "sfconnector.exceptions.NotAllowed", msg);
        free(msg);
    } else if ((out.error = decode(r, content_type, body, len, &root)) ==
               NULL) {
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(root, "args");
        const cJSON *kwargs = cJSON_GetObjectItemCaseSensitive(root, "kwargs");

        if (named)
            rpc_call_named(r, named, args, kwargs, &out);
        else
            rpc_call_builtin(r, method, args, kwargs, &out);
    }
    cJSON_Delete(root);
    reply = sfc_rpc_reply(out.error ? NULL : out.result, out.error);
    if (out.error)
        cJSON_Delete(out.result);
    if (strlen(reply) > r->o.result_max_bytes) {
        char *msg = sfc_xasprintf("the result is larger than %zu bytes "
                                  "(rpc.result_max_bytes)",
                                  r->o.result_max_bytes);

        free(reply);
        reply = sfc_rpc_reply(NULL, sfc_rpc_error("ResultTooLarge",
                                                  "sfconnector.exceptions."
                                                  "ResultTooLarge",
                                                  msg));
        free(msg);
        out.error = (cJSON *)1; /* only its truth is read below */
    }
    if (is_error)
        *is_error = out.error != NULL;
    return reply;
}
