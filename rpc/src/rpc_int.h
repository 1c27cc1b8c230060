/*
 * rpc_int.h - internals of the RPC logic. The files and what they may call
 * (no file calls back into one that calls it):
 *
 *   rpc.c      the request path: decode, find the method, bind, check, run
 *              -> methods.c, named.c, allow.c, wire.c, errors.c
 *   methods.c  the method table and the methods -> coalesce.c, errors.c
 *   named.c    config-declared methods as built-in calls -> wire.c
 *   allow.c    argument kinds and the allowlist -> schema.c, soql.c, errors.c
 *   schema.c   describes cached for the allowlist (relationships, key
 *              prefixes) -> api
 *   soql.c     the SOQL allowlist checker (pure)
 *   wire.c     Nameko's reply and error shapes, CPython's binding (pure)
 *   errors.c   the error objects the other files reply with
 *   coalesce.c creates sharing one sObject Collections request -> api
 */
#ifndef SFC_RPC_INT_H
#define SFC_RPC_INT_H

#include "sfc/rpc.h"

#define RPC_MOD    "rpc"
#define NAMEKO_EXC "nameko.exceptions."
#define SFC_EXC    "sfconnector.exceptions."

/* Most parameters a method has: the size of every argument array. */
#define RPC_MAX_PARAMS 4

struct rpc_coalescer;
struct rpc_schema;

/* What a method may use of the responder (methods.c sees only this). */
struct rpc_ctx {
    struct sfc_api_client *api;
    struct rpc_coalescer *coalescer; /* NULL when coalescing is off */
    int64_t query_all_max_records;
};

struct sfc_rpc {
    struct sfc_rpc_options o; /* strings and arrays owned */
    struct rpc_ctx ctx;
    char *prefix; /* "<service>." */
    size_t prefix_len;
    struct rpc_schema *schema; /* NULL when any sObject is allowed */
};

/* What a method call produced: a result, or an error object. */
struct rpc_outcome {
    cJSON *result;
    cJSON *error;
};

/* What an argument must be; allow.c checks it before the method runs. */
enum rpc_arg_kind {
    RPC_ARG_SOBJECT, /* a string, an API name, allowed by allow_sobjects */
    RPC_ARG_ID,      /* a string, a record id of the call's sObject */
    RPC_ARG_FIELD,   /* a string, an API name */
    RPC_ARG_VALUE,   /* a string or a number, as text: an external id */
    RPC_ARG_RECORD,  /* an object of field values */
    RPC_ARG_RECORDS, /* a list of such objects, all of the call's sObject */
    RPC_ARG_FIELDS,  /* field names: a list, or one comma-separated string */
    RPC_ARG_SOQL,    /* a string, a statement reading only allowed objects */
};

struct rpc_param {
    const char *name; /* NULL ends the list */
    enum rpc_arg_kind kind;
    bool optional; /* defaults to None; optional ones come last */
};

/*
 * A call's checked arguments, index i for parameter i. Sized for the
 * widest method and zeroed before binding, so a method reading past its
 * arity finds NULL, never another call's leftovers.
 */
struct rpc_args {
    const cJSON *json[RPC_MAX_PARAMS]; /* as sent; NULL when not given */
    const char *str[RPC_MAX_PARAMS];   /* text of the string-like kinds */
    char *owned[RPC_MAX_PARAMS];       /* text made here (rpc_args_clear) */
};

typedef void (*rpc_method_fn)(const struct rpc_ctx *ctx,
                              const struct rpc_args *a,
                              struct rpc_outcome *out);

/* A row of the method table. */
struct rpc_method {
    const char *name;
    const char *summary;
    struct rpc_param params[RPC_MAX_PARAMS];
    rpc_method_fn run;
};

/* ---- methods.c ---- */
const struct rpc_method *rpc_method_find(const char *name);
const struct rpc_method *rpc_method_at(size_t i); /* NULL past the last */
size_t rpc_method_arity(const struct rpc_method *m);
size_t rpc_method_required(const struct rpc_method *m);
/* The parameter names of @m, for sfc_rpc_bind(). */
void rpc_method_param_names(const struct rpc_method *m,
                            const char *names[RPC_MAX_PARAMS]);

/* ---- named.c ---- */
/*
 * Declared method @m called with @args/@kwargs, as a call of a built-in:
 * *method and *call_args (positional arguments; caller deletes). False
 * with a CPython TypeError text in @errstr.
 */
bool rpc_named_translate(const struct sfc_rpc_named_method *m,
                         const cJSON *args,
                         const cJSON *kwargs,
                         const struct rpc_method **method,
                         cJSON **call_args,
                         char *errstr,
                         size_t errstr_size);

/* ---- allow.c ---- */
/* Whether @s is in @v[0, n) (case-insensitive); an empty list allows all. */
bool rpc_allow_listed(const char *const *v, size_t n, const char *s);
/*
 * Checks @bound (one per parameter of @m) against the parameters' kinds
 * and the allowlist, filling @a; false with out->error set.
 */
bool rpc_args_check(struct sfc_rpc *r,
                    const struct rpc_method *m,
                    const cJSON *const *bound,
                    struct rpc_args *a,
                    struct rpc_outcome *out);
void rpc_args_clear(struct rpc_args *a);

/* ---- schema.c ---- */
struct rpc_schema *rpc_schema_new(struct sfc_api_client *api, int64_t ttl_ms);
void rpc_schema_destroy(struct rpc_schema *s);
/* As sfc_soql_env.follow; on -1 *err (may be NULL) says why. */
int rpc_schema_follow(struct rpc_schema *s,
                      const char *object,
                      const char *name,
                      bool child,
                      char ***targets,
                      struct sfc_api_error **err);
/* @object's key prefix into @out: SFC_OK, SFC_ERR_NOT_FOUND when it has
 * none, or the describe's failure with *err. */
sfc_err_t rpc_schema_key_prefix(struct rpc_schema *s,
                                const char *object,
                                char out[4],
                                struct sfc_api_error **err);

/* ---- errors.c ---- */
/* The error object for a failed Salesforce call (or a value api/ refused). */
cJSON *rpc_salesforce_error(const struct sfc_api_error *e,
                            const char *resource);
cJSON *rpc_err_malformed(const char *why);
cJSON *rpc_err_signature(const char *why);
cJSON *rpc_err_value(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
cJSON *rpc_err_not_allowed(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* @s for a message: at most @size - 1 bytes, cut at a UTF-8 boundary. */
void rpc_quote(char *out, size_t size, const char *s);

/* ---- wire.c ---- */
/* Replaces invalid UTF-8 in every string (and key) of @item with U+FFFD. */
void rpc_utf8_repair(cJSON *item);

/* ---- coalesce.c ---- */
struct rpc_coalescer *rpc_coalescer_new(struct sfc_api_client *api,
                                        int64_t window_ms,
                                        size_t max_batch);
void rpc_coalescer_destroy(struct rpc_coalescer *co);
void rpc_coalescer_stats(struct rpc_coalescer *co,
                         uint64_t *creates,
                         uint64_t *requests);
/* Same contract as sfc_api_create(); blocks up to the window. */
sfc_err_t rpc_coalesced_create(struct rpc_coalescer *co,
                               const char *sobject,
                               const cJSON *fields,
                               char **id,
                               struct sfc_api_error **err);

#endif
