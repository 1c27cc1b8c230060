/*
 * sfc/rpc.h - the Nameko RPC responder's logic, with no AMQP in it: decode a
 * request (routing key, content type, body: each as bytes and a length),
 * bind its arguments to a method's signature as Python would, check them
 * (types, Salesforce names and ids, the allowlist), call Salesforce through
 * api/, and encode the reply or the error exactly as Nameko writes them.
 *
 * The methods are one table (methods.c): a row per method with its
 * argument spec and its function. Dispatch, CPython's IncorrectSignature
 * wording, the allowlist and the --help listing all read that table.
 *
 * Threads: an sfc_rpc is read-only after creation but for its internally
 * locked caches; sfc_rpc_handle() may run on many threads at once (the api
 * client is thread-safe).
 */
#ifndef SFC_RPC_H
#define SFC_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfc/api.h"
#include "sfc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

const char *sfc_rpc_version(void);

enum sfc_rpc_op {
    SFC_RPC_CREATE = 0,
    SFC_RPC_GET,
    SFC_RPC_UPDATE,
    SFC_RPC_UPSERT,
    SFC_RPC_DELETE,
    SFC_RPC_QUERY,
};

/* A method declared in the config: arguments map onto fields. */
struct sfc_rpc_named_method {
    const char *name;
    enum sfc_rpc_op op;
    const char *sobject;
    const char *const *fields; /* argument i -> field fields[i] */
    size_t n_fields;
};

struct sfc_rpc_options {
    const char *service;              /* routing keys are <service>.<method> */
    size_t request_max_bytes;         /* default 1 MiB */
    size_t result_max_bytes;          /* default 8 MiB */
    int64_t query_all_max_records;    /* default 10000 */
    const char *const *allow_methods; /* NULL/empty = all */
    size_t n_allow_methods;
    /* NULL/empty = any. When set, every sObject a call names or a query
     * can read must be listed (case-insensitive), and record ids must
     * belong to the sObject named with them. */
    const char *const *allow_sobjects;
    size_t n_allow_sobjects;
    const struct sfc_rpc_named_method *methods;
    size_t n_methods;
    /* Creates of one sObject arriving within this many ms share one
     * sObject Collections request (allOrNone false); 0 = off. */
    int64_t coalesce_window_ms;
    size_t coalesce_max_records; /* per shared request, 1..200; default 200 */
    /* How long a describe (relationships, key prefix) is reused for the
     * allowlist; default 600000 (10 min). */
    int64_t schema_ttl_ms;
};

void sfc_rpc_options_init(struct sfc_rpc_options *o);

struct sfc_rpc;

/* Copies @o; @api is borrowed and must outlive the responder. */
struct sfc_rpc *sfc_rpc_new(const struct sfc_rpc_options *o,
                            struct sfc_api_client *api,
                            char *errstr,
                            size_t errstr_size);
void sfc_rpc_destroy(struct sfc_rpc *r);

/* Coalescing figures: creates handled, and REST requests they took. */
void sfc_rpc_coalesce_stats(struct sfc_rpc *r,
                            uint64_t *creates,
                            uint64_t *requests);

/*
 * One request as it came off the wire. Every field is bytes and a length:
 * nothing is read past a length, and a NUL byte ends nothing.
 * @content_type NULL: the property was absent.
 */
struct sfc_rpc_request {
    const char *routing_key;
    size_t routing_key_len;
    const char *content_type;
    size_t content_type_len;
    const char *body;
    size_t body_len;
};

/*
 * Handles one request and returns the reply body, always a JSON object
 * {"result": ..., "error": ...} in valid UTF-8 (caller frees). A body that
 * is not one JSON object in valid UTF-8 without NUL characters is a
 * MalformedRequest. *is_error (may be NULL) tells whether the reply
 * carries an error. Thread: any.
 */
char *sfc_rpc_handle(struct sfc_rpc *r,
                     const struct sfc_rpc_request *req,
                     bool *is_error);

/* A built-in method, for listings (--help). */
struct sfc_rpc_method_info {
    const char *name;
    const char *summary; /* one line */
    char signature[160]; /* "get(sobject, record_id, fields=None)" */
};

/* The built-in method @i (table order); false past the last. */
bool sfc_rpc_method_info(size_t i, struct sfc_rpc_method_info *out);

/* ------------------------------------------------------------------------ */
/* Pure pieces (exposed for tests and fuzzing)                              */
/* ------------------------------------------------------------------------ */

/*
 * A Nameko error object {"exc_type", "exc_path", "exc_args": [@message],
 * "value": @message}. Caller deletes.
 */
cJSON *
sfc_rpc_error(const char *exc_type, const char *exc_path, const char *message);

/* {"result": @result, "error": @error} printed; takes both (may be NULL). */
char *sfc_rpc_reply(cJSON *result, cJSON *error);

/*
 * Binds @args/@kwargs to @params (names; the first @n_required are
 * required) like CPython's inspect.getcallargs: keyword errors first, then
 * too many positional arguments, then missing ones; fills @out[i]
 * (borrowed, NULL when not given) for i < @n_params. On failure returns
 * false with CPython's TypeError text in @errstr, e.g.
 * "create() missing 1 required positional argument: 'data'".
 */
bool sfc_rpc_bind(const char *method,
                  const char *const *params,
                  size_t n_params,
                  size_t n_required,
                  const cJSON *args,
                  const cJSON *kwargs,
                  const cJSON **out,
                  char *errstr,
                  size_t errstr_size);

/* What the SOQL allowlist checker concluded. */
enum sfc_soql_verdict {
    SFC_SOQL_ALLOWED = 0,
    SFC_SOQL_REFUSED,       /* it reads an object that is not allowed */
    SFC_SOQL_UNCLEAR,       /* a statement the checker does not understand */
    SFC_SOQL_LOOKUP_FAILED, /* a relationship could not be looked up */
};

/* What the checker asks its caller. */
struct sfc_soql_env {
    void *opaque;
    /* Whether @object may be read. */
    bool (*allowed)(void *opaque, const char *object);
    /*
     * The objects relationship @name of @object leads to: a parent
     * relationship (a lookup field's relationshipName; several objects for
     * a polymorphic one) or, with @child, a child relationship. Returns
     * how many, with *targets an array of that many strings (the checker
     * frees each and the array with free()); 0 when @object has no such
     * relationship; -1 when it could not be looked up.
     */
    int (*follow)(void *opaque,
                  const char *object,
                  const char *name,
                  bool child,
                  char ***targets);
};

/*
 * Whether SOQL statement @soql[0, len) reads only allowed objects: its
 * FROM, each subquery's FROM (child relationships and semi-/anti-joins),
 * every relationship its field paths traverse (SELECT, WHERE, GROUP BY,
 * HAVING, ORDER BY, function arguments) and the types of a TYPEOF. Anything
 * it does not fully understand is SFC_SOQL_UNCLEAR. @why (may be NULL)
 * says what was refused. Pure: env's callbacks are its only way out.
 * Thread: any.
 */
enum sfc_soql_verdict sfc_soql_check(const char *soql,
                                     size_t len,
                                     const struct sfc_soql_env *env,
                                     char *why,
                                     size_t why_size);

#ifdef __cplusplus
}
#endif

#endif
