/*
 * sfc/api.h - the Salesforce REST client: every login flow, a pooled set of
 * keep-alive libcurl clients, a retry policy, REST operations, one error
 * object, and hooks for metrics.
 *
 * Threads: an sfc_api_client is shared by any number of threads. Each call
 * borrows one pooled curl handle for its duration (waiting up to
 * pool_acquire_timeout_ms for a free one), so at most pool_size requests are
 * in flight. Logins are single-flight per client: concurrent callers that see
 * an expired session wait for one login and are each sent again once.
 * curl_global_init() must have been called once (main does it).
 */
#ifndef SFC_API_H
#define SFC_API_H

#include <stdbool.h>
#include <stdint.h>

#include "sfc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

const char *sfc_api_version(void);

enum sfc_api_auth {
    SFC_API_AUTH_PASSWORD = 0,  /* OAuth username-password */
    SFC_API_AUTH_REFRESH_TOKEN, /* OAuth refresh token */
    SFC_API_AUTH_JWT,           /* OAuth JWT bearer, RS256 */
    SFC_API_AUTH_CLIENT_CREDENTIALS,
    SFC_API_AUTH_SOAP,  /* SOAP login(); retired from API 65.0 */
    SFC_API_AUTH_TOKEN, /* static instance URL + access token */
};

/* Observers of the request pipeline. Every callback may be NULL; each is
 * called on the thread making the request, without locks held. */
struct sfc_api_hooks {
    void *opaque;
    void (*on_request)(void *opaque, const char *method, const char *path);
    void (*on_response)(void *opaque,
                        const char *method,
                        const char *path,
                        long http_status,
                        int64_t elapsed_us);
    void (*on_retry)(void *opaque,
                     const char *method,
                     const char *path,
                     unsigned attempt,
                     int64_t delay_ms,
                     const char *reason);
    /* From Sforce-Limit-Info: api-usage=used/limit. */
    void (*on_api_usage)(void *opaque, int64_t used, int64_t limit);
    void (*on_login)(void *opaque, enum sfc_api_auth method, bool ok);
};

/*
 * Options: sfc_api_client_new() copies everything, strings included.
 * Initialise with sfc_api_options_init() and set what differs.
 */
struct sfc_api_options {
    enum sfc_api_auth auth;
    const char *login_url;    /* e.g. https://login.salesforce.com */
    const char *instance_url; /* SFC_API_AUTH_TOKEN only */
    const char *api_version;  /* "latest", or 60.0 / 60 / v60.0 / v60 */
    const char *username;
    const char *password;       /* secret */
    const char *security_token; /* secret; appended to the password */
    const char *client_id;
    const char *client_secret;    /* secret */
    const char *refresh_token;    /* secret */
    const char *private_key_file; /* PEM, for JWT */
    const char *access_token;     /* secret; SFC_API_AUTH_TOKEN */
    const char *ca_file;
    const char *ca_dir;
    bool verify_peer;                /* default true */
    bool allow_insecure_http;        /* credentials over http to non-loopback */
    int64_t connect_timeout_ms;      /* default 10000 */
    int64_t request_timeout_ms;      /* default 120000 */
    unsigned pool_size;              /* default 8 */
    int64_t pool_acquire_timeout_ms; /* default 30000 */
    unsigned max_retries;            /* default 4 */
    int64_t retry_base_ms;           /* default 200 */
    int64_t retry_max_ms;            /* default 10000 */
    int64_t retry_deadline_ms;       /* default 60000; 0 = no deadline */
    size_t max_response_bytes;       /* default 64 MiB */
    struct sfc_api_hooks hooks;
    /*
     * Borrowed, may be NULL; must outlive the client. Once *cancel is true
     * (it may be set from a signal handler), every transfer in progress
     * ends within about a second, waits for a pooled client, a login or a
     * retry end, and calls fail at once: SFC_ERR_CLOSED, or
     * SFC_ERR_AMBIGUOUS for a write that may have reached Salesforce.
     */
    const atomic_bool *cancel;
};

/* Fills @o with the defaults above (auth = password, production login). */
void sfc_api_options_init(struct sfc_api_options *o);

/*
 * Checks a login or instance URL as the client will use it: parsed by
 * libcurl's URL API, https, or http only when the host really is this
 * machine (localhost, 127.0.0.0/8, [::1]) unless @allow_insecure_http.
 * SFC_ERR_CONFIG with the reason in @errstr (the URL shown without its user
 * info). The client runs the same check at creation and on the instance
 * URL a login returns; configuration checkers call it to agree with it.
 * Thread: any.
 */
sfc_err_t sfc_api_url_check(const char *url,
                            bool allow_insecure_http,
                            char *errstr,
                            size_t errstr_size);

/*
 * Normalises an API version as accepted in configs ("60", "60.0", "v60",
 * "v60.0") into "60.0" form in @out. Returns false for anything else
 * ("latest" included: it is resolved at login).
 */
bool sfc_api_version_normalize(const char *in, char *out, size_t out_size);

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * What went wrong with a call: one allocation, NULL on success. Never holds
 * a token or password. Strings live as long as the error.
 */
struct sfc_api_error {
    sfc_err_t code;         /* SFC_ERR_SALESFORCE, _TRANSPORT, _AUTH, ... */
    long http_status;       /* 0 when no response arrived */
    const char *error_code; /* Salesforce errorCode, OAuth error, or "" */
    const char *message;    /* human-readable, never empty */
    const char *fields;     /* comma-separated field names, or "" */
};

void sfc_api_error_destroy(struct sfc_api_error *err);

/* ------------------------------------------------------------------------ */
/* Client                                                                   */
/* ------------------------------------------------------------------------ */

struct sfc_api_client;

/*
 * Creates a client (no network I/O: the first call logs in). Returns NULL
 * with a message in @errstr when the options are unusable (no secret in it).
 */
struct sfc_api_client *sfc_api_client_new(const struct sfc_api_options *o,
                                          char *errstr,
                                          size_t errstr_size);

/*
 * A client with a pool of its own, @pool_size keep-alive handles, that
 * shares everything else of @base: options, login and session (one login
 * serves both), DNS/TLS cache and usage figures. Calls through it wait only
 * for its own handles, so one user's load cannot take every handle of
 * another's. @base must outlive it. Thread: any.
 */
struct sfc_api_client *sfc_api_client_new_pool(struct sfc_api_client *base,
                                               unsigned pool_size);

/* Frees the client; in-flight calls must have returned. NULL is accepted. */
void sfc_api_client_destroy(struct sfc_api_client *c);

/*
 * Logs in now (single-flight) unless a session exists. On failure *err (may
 * be NULL) receives the reason. Thread: any.
 */
sfc_err_t sfc_api_client_login(struct sfc_api_client *c,
                               struct sfc_api_error **err);

/* A copy of the current session; free with sfc_api_session_clear(). */
struct sfc_api_session {
    char *instance_url;
    char *access_token; /* secret: never log it */
    char *api_version;  /* "60.0" form */
    char *user_id;      /* 18 characters, or NULL when unknown */
    char *org_id;
    uint64_t generation; /* increases with every successful login */
};

/*
 * Copies the session, logging in first when there is none. Used by the
 * Streaming API client for its own long-poll handle. Thread: any.
 */
sfc_err_t sfc_api_client_session(struct sfc_api_client *c,
                                 struct sfc_api_session *out,
                                 struct sfc_api_error **err);
void sfc_api_session_clear(struct sfc_api_session *s);

/*
 * The id of the user the client acts as (18 characters), for queries that
 * leave out the connector's own changes. Logins that do not name their user
 * (a static access token) ask GET <instance>/services/oauth2/userinfo, once
 * per session; the answer is kept with the session. *user_id (malloc'ed,
 * caller frees) is set only on success; on failure *err (may be NULL) says
 * why. Thread: any.
 */
sfc_err_t sfc_api_client_user_id(struct sfc_api_client *c,
                                 char **user_id,
                                 struct sfc_api_error **err);

/*
 * Reports that the session of @seen_generation was refused (a 401 seen
 * elsewhere, e.g. on the Bayeux channel). Logs in again unless another
 * caller already did (single-flight). Thread: any.
 */
sfc_err_t sfc_api_client_relogin(struct sfc_api_client *c,
                                 uint64_t seen_generation,
                                 struct sfc_api_error **err);

/*
 * Whether Salesforce refused the last login attempt (an answer with an
 * HTTP status, such as invalid_grant for a revoked, expired or frozen
 * credential; not a network failure), with the reason in @why (may be
 * NULL); false once a login succeeds. Thread: any.
 */
bool sfc_api_client_login_refused(struct sfc_api_client *c,
                                  char *why,
                                  size_t why_size);

/*
 * Applies the client's TLS settings (CA file/dir, verification) and the
 * shared DNS/TLS-session cache to a curl easy handle the caller owns (the
 * Bayeux long-poll handle). @curl is a CURL *.
 */
void sfc_api_client_setup_curl(struct sfc_api_client *c, void *curl);

/* Last seen API usage from Sforce-Limit-Info (-1 when not seen yet). */
void sfc_api_client_usage(struct sfc_api_client *c,
                          int64_t *used,
                          int64_t *limit);

/* ------------------------------------------------------------------------ */
/* Operations. All return SFC_OK or a status with *err set (err may be     */
/* NULL). Out-params are set only on success; cJSON results are the        */
/* caller's to cJSON_Delete(), strings to free(). sObject and field names  */
/* must pass sfc_api_name_valid() and record ids sfc_api_id_valid(), else  */
/* SFC_ERR_INVALID_ARG with no request made; other values in a path (an    */
/* external id value) are escaped as one segment.                          */
/* ------------------------------------------------------------------------ */

/* A query parameter: @name=@value, both escaped; a NULL @value is left
 * out. */
struct sfc_api_param {
    const char *name;
    const char *value;
};

/*
 * Any REST call under /services/data/vXX.X/, on the path made of
 * @segs[0, n_segs): each segment is escaped as one path segment
 * (curl_easy_escape), so no value can add a segment, a query or a
 * fragment; an empty, "." or ".." segment is SFC_ERR_INVALID_ARG before
 * any request. @params[0, n_params) (may be NULL) make the query string.
 * @body may be NULL. *status (may be NULL) gets the HTTP status, *result
 * (may be NULL) the parsed body or NULL when empty. A 4xx/5xx answer is an
 * error. Thread: any.
 */
sfc_err_t sfc_api_call(struct sfc_api_client *c,
                       const char *method,
                       const char *const *segs,
                       size_t n_segs,
                       const struct sfc_api_param *params,
                       size_t n_params,
                       const cJSON *body,
                       long *status,
                       cJSON **result,
                       struct sfc_api_error **err);

/*
 * A REST call on a path given whole: relative to /services/data/vXX.X/ or
 * absolute ("/services/data/", a nextRecordsUrl Salesforce sent). Only for
 * constant paths and paths Salesforce gave: a path with a caller's value in
 * it is built with sfc_api_call(). Otherwise as sfc_api_call().
 */
sfc_err_t sfc_api_request(struct sfc_api_client *c,
                          const char *method,
                          const char *path,
                          const cJSON *body,
                          long *status,
                          cJSON **result,
                          struct sfc_api_error **err);

/*
 * Whether @s is a Salesforce record id: 15 or 18 ASCII letters and digits
 * (NULL is not). Thread: any.
 */
bool sfc_api_id_valid(const char *s);

/*
 * Whether @s is an sObject or field API name as Salesforce forms them:
 * parts joined by "__" (namespace, name, compound field, suffix: Account,
 * Invoice__c, ns__Invoice__c, Geo__latitude__s), at most four, each a
 * letter followed by letters, digits and single underscores, not ending
 * with an underscore; at most 255 bytes. Thread: any.
 */
bool sfc_api_name_valid(const char *s);

/* POST sobjects/X: *id (may be NULL) gets the new record's id. A create
 * whose outcome is unknown (connection lost after sending) is
 * SFC_ERR_AMBIGUOUS, never retried. */
sfc_err_t sfc_api_create(struct sfc_api_client *c,
                         const char *sobject,
                         const cJSON *fields,
                         char **id,
                         struct sfc_api_error **err);

/* GET sobjects/X/id[?fields=a,b] (@fields may be NULL). */
sfc_err_t sfc_api_get(struct sfc_api_client *c,
                      const char *sobject,
                      const char *id,
                      const char *fields,
                      cJSON **record,
                      struct sfc_api_error **err);

/* PATCH sobjects/X/id. */
sfc_err_t sfc_api_update(struct sfc_api_client *c,
                         const char *sobject,
                         const char *id,
                         const cJSON *fields,
                         struct sfc_api_error **err);

/* PATCH sobjects/X/ExtField/value: *created true on 201, false on 200/204;
 * *id (may be NULL) gets the record id when returned. 300 = SFC_ERR_SALESFORCE
 * with error_code "MULTIPLE_CHOICES". */
sfc_err_t sfc_api_upsert(struct sfc_api_client *c,
                         const char *sobject,
                         const char *ext_field,
                         const char *value,
                         const cJSON *fields,
                         bool *created,
                         char **id,
                         struct sfc_api_error **err);

/* DELETE sobjects/X/id. */
sfc_err_t sfc_api_delete(struct sfc_api_client *c,
                         const char *sobject,
                         const char *id,
                         struct sfc_api_error **err);

/* GET query (or queryAll when @all): the first page as Salesforce sends it
 * ({totalSize, done, records, nextRecordsUrl}). */
sfc_err_t sfc_api_query(struct sfc_api_client *c,
                        const char *soql,
                        bool all,
                        cJSON **page,
                        struct sfc_api_error **err);

/* Iterates every record of a query, following nextRecordsUrl. */
struct sfc_api_query_iter;
struct sfc_api_query_iter *
sfc_api_query_iter_new(struct sfc_api_client *c, const char *soql, bool all);
/*
 * Next record: SFC_OK with *record borrowed until the next call, or
 * SFC_ERR_NOT_FOUND when done, or an error status with *err.
 */
sfc_err_t sfc_api_query_iter_next(struct sfc_api_query_iter *it,
                                  const cJSON **record,
                                  struct sfc_api_error **err);
/* totalSize of the query, -1 before the first page. */
int64_t sfc_api_query_iter_total(const struct sfc_api_query_iter *it);
void sfc_api_query_iter_destroy(struct sfc_api_query_iter *it);

sfc_err_t sfc_api_describe(struct sfc_api_client *c,
                           const char *sobject,
                           cJSON **result,
                           struct sfc_api_error **err);
sfc_err_t sfc_api_limits(struct sfc_api_client *c,
                         cJSON **result,
                         struct sfc_api_error **err);

enum sfc_api_collection_op {
    SFC_API_COLL_CREATE = 0,
    SFC_API_COLL_UPDATE,
    SFC_API_COLL_UPSERT, /* needs @ext_field */
    SFC_API_COLL_DELETE, /* @records: array of id strings */
};

/*
 * sObject Collections, chunked at 200 records per request. *results gets
 * one array of SaveResult objects ({id, success, errors}) in input order.
 * With @all_or_none a failing chunk stops the run (earlier chunks stay
 * committed, as in Salesforce). @sobject names the type for create/update
 * (added as attributes.type when absent) and upsert.
 */
sfc_err_t sfc_api_collection(struct sfc_api_client *c,
                             enum sfc_api_collection_op op,
                             const char *sobject,
                             const char *ext_field,
                             const cJSON *records,
                             bool all_or_none,
                             cJSON **results,
                             struct sfc_api_error **err);

/* ------------------------------------------------------------------------ */
/* Pure parsers (no network), exposed for tests and other modules.          */
/* ------------------------------------------------------------------------ */

/* "api-usage=25/15000; per-app-api-usage=..." -> used, limit. */
bool sfc_api_parse_limit_info(const char *value, int64_t *used, int64_t *limit);

/*
 * Builds an error from a response: Salesforce's [{message, errorCode,
 * fields}] array, OAuth's {error, error_description}, a SOAP fault, or plain
 * text. @body may be NULL. Never fails.
 */
struct sfc_api_error *
sfc_api_error_from_response(long http_status, const char *body, size_t len);

/* An error with the given parts (@error_code, @fields may be NULL). */
struct sfc_api_error *sfc_api_error_new(sfc_err_t code,
                                        long http_status,
                                        const char *error_code,
                                        const char *fields,
                                        const char *fmt,
                                        ...)
    __attribute__((format(printf, 5, 6)));

#ifdef __cplusplus
}
#endif

#endif
