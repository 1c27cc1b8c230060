/*
 * rest.h - REST data API handlers (/services/data/vNN.N/...).
 */
#ifndef SFSIM_REST_H
#define SFSIM_REST_H

#include "store.h"

struct rest_ctx {
    struct sim *sim;
    const struct sim_request *req;
    struct sim_response *resp;
    char version[16]; /* "60.0" */
    double vnum;
    const char *rest; /* path after /services/data/vNN.N, maybe "" */
    struct sim_session_info who;
    char tx[32]; /* transaction key of this request */
};

/* rest_misc.c */
void rest_versions(struct sim *sim, struct sim_response *resp);
void rest_resources(struct rest_ctx *c);
void rest_limits(struct rest_ctx *c);
void rest_global_describe(struct rest_ctx *c);
void rest_describe(struct rest_ctx *c, struct sim_object *o, bool full);

/* rest_sobject.c: /sobjects/<X>[/...] */
void rest_sobject(struct rest_ctx *c, const char *after);

/* rest_replication.c: /sobjects/<X>/updated/ and /deleted/ */
void rest_replication(struct rest_ctx *c, struct sim_object *o, bool deleted);

/* rest_query.c: /query, /queryAll, /query/<locator> */
void rest_query(struct rest_ctx *c, bool all, const char *locator);
void rest_query_reset(struct sim *sim);

/* rest_collections.c: /composite/sobjects[/<X>/<Field>] */
void rest_collections(struct rest_ctx *c, const char *after);

/*
 * Upsert of one record by external id @f = @value (rest_sobject.c):
 * returns 201 (created), 200 (updated), 300 (several matches: *urls set,
 * caller deletes) or -1 with @err. Thread: connection; takes the store lock.
 */
int rest_upsert(struct rest_ctx *c,
                struct sim_object *o,
                const struct sim_field *f,
                const char *value,
                const cJSON *body,
                char id[19],
                bool *created,
                struct sim_dml_error *err,
                cJSON **urls);

/* rest_composite.c: /composite and /composite/batch */
void rest_composite(struct rest_ctx *c);
void rest_composite_batch(struct rest_ctx *c);

/* Runs the REST route for c->req (router.c); used for subrequests. */
void rest_dispatch(struct rest_ctx *c);

/* Helpers (rest_sobject.c). */
void rest_dml_error(struct rest_ctx *c, const struct sim_dml_error *e);
cJSON *rest_parse_body(struct rest_ctx *c);
void rest_not_found(struct rest_ctx *c);
/* 404 "Provided external ID field does not exist or is not accessible". */
void rest_ext_not_found(struct rest_ctx *c, const char *field);
/* Salesforce's INVALID_FIELD text for an unknown column. */
void rest_no_such_column(char *out,
                         size_t sz,
                         const char *field,
                         const char *object);
/* One error object ({message, errorCode|statusCode, fields}). */
cJSON *rest_error_obj(const struct sim_dml_error *e, const char *code_key);

#endif
