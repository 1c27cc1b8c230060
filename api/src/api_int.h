/*
 * api_int.h - internals shared by the api/ sources: the client object, its
 * pool of curl handles, the session, and the request pipeline.
 */
#ifndef SFC_API_INT_H
#define SFC_API_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <curl/curl.h>

#include "sfc/api.h"

#define API_MOD "api"

struct api_slot {
    CURL *h;
    char errbuf[CURL_ERROR_SIZE];
    bool busy;
};

/* The session as the client holds it (under auth_lock). */
struct api_session {
    char *instance_url;
    char *access_token;
    char *user_id;
    char *org_id;
    char api_version[16];
    uint64_t generation;
    int64_t expires_at_ms; /* 0 = unknown */
};

struct sfc_api_client {
    /* NULL, or the client whose login, session, options, DNS/TLS cache and
     * usage figures this one shares (sfc_api_client_new_pool): only the
     * pool below is its own. */
    struct sfc_api_client *base;
    struct sfc_api_options o; /* strings owned (copied), or base's */
    char fixed_version[16];   /* normalised, or "" for latest */

    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

    pthread_mutex_t pool_lock;
    pthread_cond_t pool_cond;
    struct api_slot *slots;
    unsigned n_slots;

    pthread_mutex_t auth_lock;
    pthread_cond_t auth_cond;
    bool logging_in;
    bool have_session;
    uint64_t login_attempts;           /* completed login attempts */
    struct sfc_api_error *login_error; /* of the last failed attempt */
    struct api_session s;

    _Atomic int64_t usage_used;
    _Atomic int64_t usage_limit;
};

/* The client that holds @c's login, session and usage figures. */
static inline struct sfc_api_client *api_owner(struct sfc_api_client *c)
{
    return c->base ? c->base : c;
}

/* Flags of api_call() and api_http_perform(). */
#define API_NONIDEMPOTENT 0x1 /* a lost answer means an unknown outcome */

/* One HTTP exchange's outcome. */
struct api_response {
    long status; /* 0 when no response */
    struct sfc_buf body;
    CURLcode curl_code;
    bool maybe_sent; /* the request may have reached the server */
    char errbuf[CURL_ERROR_SIZE];
};

void api_response_init(struct api_response *r, size_t max_body);
void api_response_free(struct api_response *r);

/* Borrows a pooled handle; NULL (SFC_ERR_BUSY) after the acquire timeout. */
struct api_slot *api_slot_acquire(struct sfc_api_client *c);
void api_slot_release(struct sfc_api_client *c, struct api_slot *s);

/*
 * Performs one exchange on a borrowed handle. @headers may be NULL; @body
 * may be NULL (no body). @flags: API_NONIDEMPOTENT keeps libcurl from
 * silently sending the request again on a fresh connection when a reused
 * one dies (it would duplicate a create). Fills @r. Returns SFC_OK when a
 * response arrived (any status), SFC_ERR_TRANSPORT / SFC_ERR_TIMEOUT
 * otherwise.
 */
sfc_err_t api_http_perform(struct sfc_api_client *c,
                           struct api_slot *slot,
                           const char *method,
                           const char *url,
                           struct curl_slist *headers,
                           const char *body,
                           size_t body_len,
                           unsigned flags,
                           struct api_response *r);

/* Applies TLS and share settings to a handle. */
void api_curl_common(struct sfc_api_client *c, CURL *h);

/* Whether the owner asked every call to end (sfc_api_options.cancel). */
bool api_cancelled(const struct sfc_api_client *c);

/* True for http:// URLs to a non-loopback host (credentials must not go). */
bool api_url_insecure(const char *url);

/* Snapshot of the session for one request (logs in when there is none). */
struct api_snapshot {
    char *instance_url;
    char *auth_header; /* "Authorization: Bearer ..." */
    char api_version[16];
    uint64_t generation;
};

sfc_err_t api_snapshot_take(struct sfc_api_client *c,
                            struct api_snapshot *s,
                            struct sfc_api_error **err);
void api_snapshot_clear(struct api_snapshot *s);

/* Runs the configured login flow (no locks held); fills @out on success. */
sfc_err_t api_login_flow(struct sfc_api_client *c,
                         struct api_session *out,
                         struct sfc_api_error **err);
void api_session_free(struct api_session *s);

/* Parses an OAuth token response into @out. */
sfc_err_t api_parse_token_response(const char *body,
                                   size_t len,
                                   struct api_session *out,
                                   char *errstr,
                                   size_t errstr_size);
/* Parses a SOAP login response; SFC_ERR_AUTH with the fault text. */
sfc_err_t api_parse_soap_login(const char *body,
                               struct api_session *out,
                               char *errstr,
                               size_t errstr_size);
/* Picks the highest version from GET /services/data/. */
bool api_parse_latest_version(const char *body,
                              size_t len,
                              char *out,
                              size_t out_size);

/* JWT bearer assertion, RS256-signed with the PEM key at @key_file. */
char *api_jwt_assertion(const char *client_id,
                        const char *username,
                        const char *audience,
                        const char *key_file,
                        int64_t now_s,
                        char *errstr,
                        size_t errstr_size);

/* Text of the first XML element named @tag (prefix ignored); caller frees. */
char *api_xml_text(const char *xml, const char *tag);

/*
 * The request pipeline: session, pooled handle, retries, re-login on 401.
 * @path as in sfc_api_request(). @body is JSON text or NULL.
 */
sfc_err_t api_call(struct sfc_api_client *c,
                   const char *method,
                   const char *path,
                   const char *body,
                   unsigned flags,
                   long *status,
                   cJSON **result,
                   struct sfc_api_error **err);

/*
 * The path of @segs (each escaped; empty, "." and ".." refused) and
 * @params as a query string; *path is the caller's to free. path.c.
 */
sfc_err_t api_path_new(const char *const *segs,
                       size_t n_segs,
                       const struct sfc_api_param *params,
                       size_t n_params,
                       char **path,
                       struct sfc_api_error **err);

/*
 * @s for an error message: at most @size - 1 bytes, cut at a character
 * boundary (with "..." when cut), control bytes shown as '?'. Returns the
 * length written.
 */
size_t api_quote(char *out, size_t size, const char *s);

/* Stores @e into *err when err is non-NULL, else frees it. */
sfc_err_t api_fail(struct sfc_api_error **err, struct sfc_api_error *e);

#endif
