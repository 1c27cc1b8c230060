/* rpc_int.h - internals of the RPC logic. */
#ifndef SFC_RPC_INT_H
#define SFC_RPC_INT_H

#include "sfc/rpc.h"

#define RPC_MOD    "rpc"
#define NAMEKO_EXC "nameko.exceptions."

struct sfc_rpc {
    struct sfc_rpc_options o; /* strings and arrays owned */
    struct sfc_api_client *api;
    char *prefix;                    /* "<service>." */
    struct rpc_coalescer *coalescer; /* NULL when coalescing is off */
};

/* What a method call produced: a result, or an error object. */
struct rpc_outcome {
    cJSON *result;
    cJSON *error;
};

/* Runs method @name with bound arguments; fills @out. */
void rpc_call_builtin(struct sfc_rpc *r,
                      const char *name,
                      const cJSON *args,
                      const cJSON *kwargs,
                      struct rpc_outcome *out);
bool rpc_is_builtin(const char *name);
void rpc_call_named(struct sfc_rpc *r,
                    const struct sfc_rpc_named_method *m,
                    const cJSON *args,
                    const cJSON *kwargs,
                    struct rpc_outcome *out);

/* Coalescing of creates (coalesce.c). */
struct rpc_coalescer;
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

/* The error object for a failed Salesforce call. */
cJSON *rpc_salesforce_error(const struct sfc_api_error *e,
                            const char *resource);

/* Allowlist checks; false fills @out->error. */
bool rpc_sobject_allowed(struct sfc_rpc *r,
                         const char *sobject,
                         struct rpc_outcome *out);

#endif
