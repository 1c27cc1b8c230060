/*
 * sfc/rpc.h - the Nameko RPC responder's logic, with no AMQP in it: decode a
 * request (routing key, content type, body), bind its arguments to a
 * method's signature as Python would, call Salesforce through api/, and
 * encode the reply or the error exactly as Nameko writes them.
 *
 * Threads: an sfc_rpc is read-only after creation; sfc_rpc_handle() may run
 * on many threads at once (the api client is thread-safe).
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
    const char *const *allow_sobjects; /* NULL/empty = any */
    size_t n_allow_sobjects;
    const struct sfc_rpc_named_method *methods;
    size_t n_methods;
    /* Creates of one sObject arriving within this many ms share one
     * sObject Collections request (allOrNone false); 0 = off. */
    int64_t coalesce_window_ms;
    size_t coalesce_max_records; /* per shared request, 1..200; default 200 */
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
 * Handles one request and returns the reply body, always a JSON object
 * {"result": ..., "error": ...} (caller frees). @content_type may be NULL.
 * *is_error (may be NULL) tells whether the reply carries an error.
 */
char *sfc_rpc_handle(struct sfc_rpc *r,
                     const char *routing_key,
                     const char *content_type,
                     const char *body,
                     size_t len,
                     bool *is_error);

/* ------------------------------------------------------------------------ */
/* Pure pieces (exposed for tests)                                          */
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
 * required) like CPython; fills @out[i] (borrowed, NULL when not given). On
 * failure returns false with CPython's TypeError text in @errstr, e.g.
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

#ifdef __cplusplus
}
#endif

#endif
