/*
 * sim.h - the sfsim core as seen by route handlers, in particular the
 * Streaming API side (stream_*.c, sim_stream.h).
 *
 * Threading model: libmicrohttpd runs with an internal polling thread and one
 * thread per connection (MHD_USE_THREAD_PER_CONNECTION). A handler runs in
 * its connection's thread and may block (a held /meta/connect does), so the
 * core never holds a lock while calling a stream handler. Everything in this
 * header is thread-safe unless stated otherwise.
 *
 * The core calls into the stream side through sim_stream.h (owned by the
 * stream side), with these signatures:
 *   struct sim_stream *sim_stream_new(struct sim *sim);  called before the
 *        HTTP server listens (sim_base_url() is "" until then) and before
 *        seed records are created (they arrive as record changes)
 *   void sim_stream_destroy(struct sim_stream *st);          (NULL ok)
 *   void sim_stream_handle(struct sim_stream *st, const struct sim_request
 *        *req, struct sim_response *resp);    every /cometd/... request;
 *        runs in the connection thread, may block for the long poll
 *   void sim_stream_record_changed(struct sim_stream *st,
 *        const struct sim_change *chg);       every record change; called
 *        with the store lock held: must not block, must not call
 *        sim_record_get/sim_record_list (sim_soql_* and stats are fine).
 *        Lock order is store lock -> stream locks: never call
 *        sim_record_get/sim_record_list while holding a lock that
 *        sim_stream_record_changed takes.
 *   void sim_stream_push(struct sim_stream *st, const cJSON *channel,
 *        const struct sim_request *req, struct sim_response *resp);
 *        POST .../sobjects/StreamingChannel/<id>/push after auth; @channel
 *        is the StreamingChannel record (its "Name" is "/u/<name>")
 *   void sim_stream_control(struct sim_stream *st, const struct
 *        sim_request *req, struct sim_response *resp);  /_sim/firehose
 *        and /_sim/stream/...
 *   void sim_stream_stats(struct sim_stream *st, cJSON *out);  adds its
 *        counters to the "stream" object of /_sim/stats
 *   void sim_stream_reset(struct sim_stream *st);  POST /_sim/reset
 * Transport faults (http_status, delay, drop_connection, malformed_json)
 * are applied by the core to /cometd/ requests as well; stream-specific
 * kinds (forget_clients, reject_replay_id, ...) are taken by the stream side
 * with sim_fault_take(). expire_sessions invalidates every session token, so
 * sim_auth_check() fails afterwards.
 */
#ifndef SFSIM_SIM_H
#define SFSIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct sim;        /* the simulator: options, store, sessions, faults, stats */
struct sim_stream; /* the Streaming API side, defined in stream_*.c */

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

struct sim_options {
    int port;                   /* --port, 0 = any free port */
    const char *url_file;       /* --url-file or NULL */
    const char *public_url;     /* --public-url or NULL */
    const char *seed_file;      /* --seed or NULL */
    const char *tls_cert;       /* --tls-cert (PEM path) or NULL */
    const char *tls_key;        /* --tls-key (PEM path) or NULL */
    const char *jwt_cert;       /* --jwt-cert (PEM cert/public key) or NULL */
    bool demo;                  /* --demo */
    int64_t connect_timeout_ms; /* --connect-timeout, default 110000 */
    int64_t session_ttl_s;      /* --session-ttl, default 7200 */
    int64_t daily_api_limit;    /* --daily-api-limit, default 15000 */
    int64_t limit_margin;       /* --limit-margin: calls allowed past the
                                   allocation before REQUEST_LIMIT_EXCEEDED */
    int query_batch_size;       /* --query-batch-size, default 2000 */
    bool refresh_rotation;      /* --refresh-rotation */
    bool password_flow_blocked; /* --block-password-flow */
    double min_api_version;     /* --min-api-version, default 31.0 */
    double max_api_version;     /* newest version served, 67.0 */
    uint64_t rng_seed;          /* --rng-seed, default 1 */
    int64_t login_delay_ms;     /* --login-delay-ms: time a token request
                                   stays in flight (concurrency tests) */
    bool random_pages;          /* --random-page-sizes: pages of 200..batch */
    int64_t locator_ttl_s;      /* --query-locator-ttl, default 172800 */
    bool per_app_usage;         /* --per-app-usage: Sforce-Limit-Info suffix */
    bool password_expired;      /* --password-expired: SOAP login says so */
    bool soap_retired;          /* --soap-retired: SOAP login >= 65.0 fails */
    bool reuse_sessions;        /* --reuse-sessions: a login returns the
                                   user's live session if there is one */
    bool sliding_sessions;      /* --sliding-sessions: use extends TTL */
    bool legacy_cursors;        /* --legacy-cursors: 10 open query
                                   cursors per user, oldest released */
    int64_t long_request_ms;    /* --long-request-ms: a request running
                                   this long is "long" (20000) */
    int max_long_requests;      /* --max-long-requests: concurrent long
                                   requests allowed (25; 0 = no limit) */
    int64_t jwt_exp_horizon_s;  /* --jwt-exp-horizon: latest accepted JWT
                                   exp, seconds ahead (330) */
    bool reject_extid_in_body;  /* --reject-extid-in-body: upsert body may
                                   not carry the external id field */
    bool no_limit_info_on_errors; /* --no-limit-info-on-errors: 4xx/5xx
                                     data responses lack Sforce-Limit-Info */
    bool html_escape_composite;   /* --html-escape-composite: strings in
                                     composite responses HTML-escaped */
    int max_pushtopics;           /* --max-pushtopics: live PushTopics
                                     allowed (100; 0 = no limit) */
};

/* The options the simulator runs with. Borrowed, lives as long as @sim. */
const struct sim_options *sim_options(const struct sim *sim);

/*
 * Base URL of every URL the simulator hands out (instance_url, identity
 * URL, SOAP serverUrl): where it listens ("http://127.0.0.1:40123") or
 * --public-url. Borrowed, lives as long as @sim.
 */
const char *sim_base_url(const struct sim *sim);

/* The org id (18 chars, "00D..."). Borrowed, lives as long as @sim. */
const char *sim_org_id(const struct sim *sim);

/* Deterministic random numbers (seeded by --rng-seed). Thread: any. */
uint64_t sim_rand(struct sim *sim);

/*
 * True once shutdown began. The HTTP server waits for every connection
 * thread, so a held long poll should wait in slices (<= 200 ms) and return
 * when this turns true. Thread: any.
 */
bool sim_stopping(const struct sim *sim);

/* The stream side's handle (NULL before it is created). */
struct sim_stream *sim_stream_of(const struct sim *sim);

/* ------------------------------------------------------------------------ */
/* Requests and responses                                                   */
/* ------------------------------------------------------------------------ */

/*
 * One HTTP request as the HTTP layer hands it to a route handler. All
 * strings are borrowed, NUL-terminated, never NULL ("" when absent), valid
 * for the duration of the handler call.
 */
struct sim_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* URL path without the query string */
    const char *query;  /* raw query string after '?', or "" */
    const char *body;   /* request body (NUL-terminated), or "" */
    size_t body_len;
    const char *host;            /* Host header as the client sent it */
    const char *authorization;   /* Authorization header */
    const char *cookie;          /* Cookie header */
    const char *content_type;    /* Content-Type header */
    void *conn;                  /* internal: the MHD connection */
    const cJSON *synthetic_args; /* internal: decoded query arguments of a
                                    composite subrequest (conn is NULL) */
};

/*
 * Any request header by name (case-insensitive), or NULL when absent.
 * Borrowed for the duration of the handler call.
 */
const char *sim_request_header(const struct sim_request *req, const char *name);

/*
 * A decoded query-string argument (?name=value), or NULL when absent.
 * Borrowed for the duration of the handler call.
 */
const char *sim_request_arg(const struct sim_request *req, const char *name);

#define SIM_RESP_MAX_HEADERS 16

/* How the HTTP layer should misbehave when sending a response. */
enum sim_drop {
    SIM_DROP_NONE = 0,
    SIM_DROP_BEFORE_HEADERS, /* close the connection, send nothing */
    SIM_DROP_MID_BODY        /* send headers and half the body, then close */
};

/*
 * The response a handler fills. The HTTP layer initialises it to 500 with no
 * body and frees it after sending. Use the setters below; they copy.
 */
struct sim_response {
    int status;
    char *body; /* owned (malloc), may be NULL */
    size_t body_len;
    char content_type[96];
    struct {
        char *name;  /* owned */
        char *value; /* owned */
    } headers[SIM_RESP_MAX_HEADERS];
    size_t n_headers;
    enum sim_drop drop;
    bool no_limit_info; /* do not add Sforce-Limit-Info */
};

/* Like sim_response_set(), but takes @body (malloc'd, NUL-terminated at
 * @len) instead of copying it. */
void sim_response_take(struct sim_response *resp,
                       int status,
                       const char *content_type,
                       char *body,
                       size_t len);

/* Copies @body (@len bytes) with @content_type and @status. */
void sim_response_set(struct sim_response *resp,
                      int status,
                      const char *content_type,
                      const char *body,
                      size_t len);

/*
 * Prints @json (then deletes it: ownership moves to the call) as
 * "application/json;charset=UTF-8" with @status. @json may be NULL (body
 * "null").
 */
void sim_response_json(struct sim_response *resp, int status, cJSON *json);

/*
 * Salesforce REST error body: [{"message":..., "errorCode":...}] with
 * "fields": [] added when @with_fields. @message is copied.
 */
void sim_response_error(struct sim_response *resp,
                        int status,
                        const char *error_code,
                        const char *message,
                        bool with_fields);

/* Adds a response header (copied); more than SIM_RESP_MAX_HEADERS: ignored.
 * Several Set-Cookie headers may be added. */
void sim_response_add_header(struct sim_response *resp,
                             const char *name,
                             const char *value);

/* Frees what the response owns and resets it to the initial state. */
void sim_response_clear(struct sim_response *resp);

/* ------------------------------------------------------------------------ */
/* Sessions                                                                 */
/* ------------------------------------------------------------------------ */

struct sim_session_info {
    char user_id[19]; /* 18-char User id */
    char org_id[19];  /* 18-char org id */
    char username[128];
    char session_key[24];  /* stable, non-secret key of the session (for
                              per-session bookkeeping; never the token) */
    int64_t expires_at_ms; /* wall clock ms */
};

/*
 * Checks an "Authorization: Bearer <token>" or "OAuth <token>" header value
 * against the session table (expiry, revocation, expire_sessions faults
 * already applied). Returns true and fills @out (may be NULL) when valid.
 * When invalid and @fail is non-NULL, fills @fail with Salesforce's 401
 * [{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]
 * (or INVALID_AUTH_HEADER for a malformed header).
 * Thread: any. Locks: takes the session lock briefly.
 */
bool sim_auth_check(struct sim *sim,
                    const char *authorization,
                    struct sim_session_info *out,
                    struct sim_response *fail);

/* ------------------------------------------------------------------------ */
/* Faults                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * A fired fault: the kind name as posted to /_sim/fault ("forget_clients",
 * "reject_replay_id", ... any [a-z0-9_]+ name is accepted by the control
 * plane, so the stream side may define its own) and a copy of the whole
 * fault JSON so handlers can read extra parameters ("status", "ms",
 * "channel", ...).
 */
struct sim_fault_hit {
    char kind[48];
    int status;    /* "status" or 0 */
    int64_t ms;    /* "ms" or 0 */
    cJSON *params; /* owned copy of the posted JSON; free with
                      sim_fault_hit_clear() */
};

/*
 * Finds an armed fault of @kind whose path regex (and method, if given)
 * matches, consumes one count (one-shot and counted faults) and fills @out.
 * Returns true when one fired. A NULL @method/@path matches only faults
 * without a method/path filter. Counts in /_sim/stats "faults_fired".
 * Thread: any. Locks: fault lock.
 */
bool sim_fault_take(struct sim *sim,
                    const char *kind,
                    const char *method,
                    const char *path,
                    struct sim_fault_hit *out);

/* Frees the params of a hit. */
void sim_fault_hit_clear(struct sim_fault_hit *hit);

/* ------------------------------------------------------------------------ */
/* Records: change notifications and lookups                                */
/* ------------------------------------------------------------------------ */

enum sim_change_type {
    SIM_CHANGE_CREATED,
    SIM_CHANGE_UPDATED,
    SIM_CHANGE_DELETED,
    SIM_CHANGE_UNDELETED
};

/*
 * One record change, handed to sim_stream_record_changed() for EVERY change
 * of any object: PushTopic and StreamingChannel records too (so the stream
 * side can track topics and channels), X__e creations (platform events).
 * All pointers are borrowed for the duration of the call.
 */
struct sim_object;

struct sim_change {
    const char *sobject;             /* canonical name: "Contact", "Foo__c" */
    const struct sim_object *object; /* its schema (store.h) */
    enum sim_change_type type;
    const cJSON *record;               /* full record after the change (for
                                          deletes: before), canonical field names,
                                          with "attributes" and "Id" */
    const char *const *changed_fields; /* names of fields set by the request
                                          (create: all given); n_changed */
    size_t n_changed;
    const char *user_id; /* 18-char id of the user who made it */
    const char *tx_key;  /* transaction key, same for all records of
                            one REST request (collections) */
    int64_t commit_ms;   /* wall-clock commit time */
};

/*
 * A deep copy of a live (not deleted) record, or NULL. Canonical object name
 * or any case; @id 15 or 18 chars. Caller frees with cJSON_Delete().
 * Thread: any. Locks: store lock.
 */
cJSON *sim_record_get(struct sim *sim, const char *sobject, const char *id);

/*
 * Deep copies of all live records of @sobject (a JSON array, maybe empty),
 * or NULL for an unknown object. Caller frees with cJSON_Delete().
 */
cJSON *sim_record_list(struct sim *sim, const char *sobject);

/* ------------------------------------------------------------------------ */
/* SOQL subset (rest-wire.md 8.4), pure, usable for PushTopic matching      */
/* ------------------------------------------------------------------------ */

struct sim_soql; /* a parsed query */

/*
 * Parses @query (syntax only: field and object names are checked by the
 * query resource against the schema). Returns NULL on error with the
 * Salesforce errorCode ("MALFORMED_QUERY") in @code and a message in
 * @errstr. Free with sim_soql_free().
 */
struct sim_soql *sim_soql_parse(const char *query,
                                char *errstr,
                                size_t errstr_size,
                                const char **code);

void sim_soql_free(struct sim_soql *q);

/* The FROM object as written. Borrowed, lives as long as @q. */
const char *sim_soql_object(const struct sim_soql *q);

/* Selected fields as written (COUNT() gives none); i < count. */
size_t sim_soql_select_count(const struct sim_soql *q);
const char *sim_soql_select_field(const struct sim_soql *q, size_t i);

/* Fields named in WHERE, deduplicated, as written; i < count. */
size_t sim_soql_where_count(const struct sim_soql *q);
const char *sim_soql_where_field(const struct sim_soql *q, size_t i);

/* Clause flags (for PushTopic validation). */
bool sim_soql_has_where(const struct sim_soql *q);
bool sim_soql_has_order_by(const struct sim_soql *q);
bool sim_soql_has_limit(const struct sim_soql *q);
bool sim_soql_has_offset(const struct sim_soql *q);
bool sim_soql_has_not(const struct sim_soql *q);
bool sim_soql_is_count(const struct sim_soql *q);
bool sim_soql_has_relationship(const struct sim_soql *q);

/*
 * True when @record (cJSON object with canonical field names) satisfies the
 * WHERE clause (true without WHERE). Field names are matched
 * case-insensitively. Pure; thread: any.
 */
bool sim_soql_match(const struct sim_soql *q, const cJSON *record);

/* ------------------------------------------------------------------------ */
/* Stats                                                                    */
/* ------------------------------------------------------------------------ */

/* Adds @delta to counter @name (created on first use). Thread: any. */
void sim_stats_add(struct sim *sim, const char *name, int64_t delta);

/* Raises counter @name to @value if larger (max gauges). Thread: any. */
void sim_stats_max(struct sim *sim, const char *name, int64_t value);

/* Current value of counter @name, 0 when unknown. Thread: any. */
int64_t sim_stats_get(struct sim *sim, const char *name);

#endif
