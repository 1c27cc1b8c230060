/* The client object: options, pool, shared cache, session and logins. */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

const char *sfc_api_version(void)
{
    return SFC_VERSION;
}

void sfc_api_options_init(struct sfc_api_options *o)
{
    memset(o, 0, sizeof(*o));
    o->auth = SFC_API_AUTH_PASSWORD;
    o->login_url = "https://login.salesforce.com";
    o->api_version = "latest";
    o->verify_peer = true;
    o->connect_timeout_ms = 10000;
    o->request_timeout_ms = 120000;
    o->pool_size = 8;
    o->pool_acquire_timeout_ms = 30000;
    o->max_retries = 4;
    o->retry_base_ms = 200;
    o->retry_max_ms = 10000;
    o->retry_deadline_ms = 60000;
    o->max_response_bytes = 64u << 20;
}

/* The option strings a client owns, in one place for copy and free. */
/* clang-format off: it reflows this list differently on every pass */
#define OPTION_STRINGS(X)                                                      \
    X(login_url)                                                               \
    X(instance_url)                                                            \
    X(api_version)                                                             \
    X(username)                                                                \
    X(password)                                                                \
    X(security_token)                                                          \
    X(client_id)                                                               \
    X(client_secret)                                                           \
    X(refresh_token)                                                           \
    X(private_key_file)                                                        \
    X(access_token)                                                            \
    X(ca_file)                                                                 \
    X(ca_dir)
/* clang-format on */

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access a, void *opaque)
{
    struct sfc_api_client *c = opaque;

    (void)h;
    (void)a;
    pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *opaque)
{
    struct sfc_api_client *c = opaque;

    (void)h;
    pthread_mutex_unlock(&c->share_locks[data]);
}

static bool
check_options(const struct sfc_api_options *o, char *errstr, size_t errstr_size)
{
    char v[16];
    const char *url =
        o->auth == SFC_API_AUTH_TOKEN ? o->instance_url : o->login_url;

    if (!url || !*url) {
        sfc_errstr_set(errstr, errstr_size, "%s is not set",
                       o->auth == SFC_API_AUTH_TOKEN ? "instance_url"
                                                     : "login_url");
        return false;
    }
    if (sfc_api_url_check(url, o->allow_insecure_http, errstr, errstr_size) !=
        SFC_OK)
        return false;
    if (o->api_version && strcmp(o->api_version, "latest") != 0 &&
        !sfc_api_version_normalize(o->api_version, v, sizeof(v))) {
        sfc_errstr_set(errstr, errstr_size,
                       "api_version \"%s\" is not latest, XX, XX.0, vXX or "
                       "vXX.0",
                       o->api_version);
        return false;
    }
    if (o->auth == SFC_API_AUTH_TOKEN &&
        (!o->access_token || !o->instance_url)) {
        sfc_errstr_set(errstr, errstr_size,
                       "token auth needs instance_url and access_token");
        return false;
    }
    return true;
}

/* The client's own pool of o.pool_size handles. */
static void pool_init(struct sfc_api_client *c)
{
    pthread_mutex_init(&c->pool_lock, NULL);
    sfc_cond_init_monotonic(&c->pool_cond);
    c->n_slots = c->o.pool_size;
    c->slots = sfc_xcalloc(c->n_slots, sizeof(*c->slots));
    for (unsigned i = 0; i < c->n_slots; i++) {
        c->slots[i].h = curl_easy_init();
        api_curl_common(c, c->slots[i].h);
        curl_easy_setopt(c->slots[i].h, CURLOPT_ERRORBUFFER,
                         c->slots[i].errbuf);
    }
}

static void pool_free(struct sfc_api_client *c)
{
    for (unsigned i = 0; i < c->n_slots; i++)
        curl_easy_cleanup(c->slots[i].h);
    free(c->slots);
    pthread_mutex_destroy(&c->pool_lock);
    pthread_cond_destroy(&c->pool_cond);
}

struct sfc_api_client *sfc_api_client_new_pool(struct sfc_api_client *base,
                                               unsigned pool_size)
{
    struct sfc_api_client *c = sfc_xcalloc(1, sizeof(*c));

    base = api_owner(base);
    c->base = base;
    c->o = base->o; /* strings borrowed: base outlives c */
    c->o.pool_size = pool_size ? pool_size : 1;
    memcpy(c->fixed_version, base->fixed_version, sizeof(c->fixed_version));
    c->share = base->share;
    pool_init(c);
    return c;
}

struct sfc_api_client *sfc_api_client_new(const struct sfc_api_options *o,
                                          char *errstr,
                                          size_t errstr_size)
{
    struct sfc_api_client *c;

    if (!check_options(o, errstr, errstr_size))
        return NULL;
    c = sfc_xcalloc(1, sizeof(*c));
    c->o = *o;
#define COPY(f) c->o.f = sfc_xstrdup(o->f);
    OPTION_STRINGS(COPY)
#undef COPY
    if (!c->o.pool_size)
        c->o.pool_size = 1;
    if (o->api_version && strcmp(o->api_version, "latest") != 0)
        sfc_api_version_normalize(o->api_version, c->fixed_version,
                                  sizeof(c->fixed_version));
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_locks[i], NULL);
    c->share = curl_share_init();
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    pool_init(c);
    pthread_mutex_init(&c->auth_lock, NULL);
    pthread_cond_init(&c->auth_cond, NULL);
    atomic_store(&c->usage_used, -1);
    atomic_store(&c->usage_limit, -1);
    if (o->auth == SFC_API_AUTH_SOAP)
        sfc_log(SFC_LOG_WARN, API_MOD,
                "SOAP login is retired by Salesforce from API 65.0: move to "
                "an OAuth flow (password, jwt or client_credentials)");
    return c;
}

void sfc_api_client_destroy(struct sfc_api_client *c)
{
    if (!c)
        return;
    pool_free(c);
    if (c->base) {
        free(c);
        return;
    }
    curl_share_cleanup(c->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_locks[i]);
    pthread_mutex_destroy(&c->auth_lock);
    pthread_cond_destroy(&c->auth_cond);
    api_session_free(&c->s);
    sfc_api_error_destroy(c->login_error);
#define FREE_OPT(f) sfc_free_secret((char *)c->o.f);
    OPTION_STRINGS(FREE_OPT)
#undef FREE_OPT
    free(c);
}

void sfc_api_client_setup_curl(struct sfc_api_client *c, void *curl)
{
    api_curl_common(c, curl);
}

void sfc_api_client_usage(struct sfc_api_client *c,
                          int64_t *used,
                          int64_t *limit)
{
    c = api_owner(c);
    *used = atomic_load(&c->usage_used);
    *limit = atomic_load(&c->usage_limit);
}

static const char *auth_label(enum sfc_api_auth a)
{
    static const char *const names[] = {"password", "refresh_token",
                                        "jwt",      "client_credentials",
                                        "soap",     "token"};

    return (unsigned)a <= SFC_API_AUTH_TOKEN ? names[a] : "?";
}

/*
 * Logs in with auth_lock held on entry and exit; the flow itself runs
 * unlocked while other callers wait on auth_cond (single flight).
 */
static sfc_err_t login_locked(struct sfc_api_client *c,
                              struct sfc_api_error **err)
{
    struct api_session fresh = {0};
    struct sfc_api_error *e = NULL;
    sfc_err_t rc;

    c->logging_in = true;
    pthread_mutex_unlock(&c->auth_lock);
    rc = api_login_flow(c, &fresh, &e);
    if (c->o.hooks.on_login)
        c->o.hooks.on_login(c->o.hooks.opaque, c->o.auth, rc == SFC_OK);
    pthread_mutex_lock(&c->auth_lock);
    c->logging_in = false;
    c->login_attempts++;
    sfc_api_error_destroy(c->login_error);
    c->login_error = NULL;
    if (rc == SFC_OK) {
        fresh.generation = c->s.generation + 1;
        api_session_free(&c->s);
        c->s = fresh;
        c->have_session = true;
        sfc_log(SFC_LOG_INFO, API_MOD, "logged in (%s) to %s, API %s, user %s",
                auth_label(c->o.auth), c->s.instance_url, c->s.api_version,
                c->s.user_id ? c->s.user_id : "?");
    } else {
        c->have_session = false;
        c->login_error =
            sfc_api_error_new(e->code, e->http_status, e->error_code, e->fields,
                              "%s", e->message);
        sfc_log(SFC_LOG_ERROR, API_MOD, "login (%s) failed: %s",
                auth_label(c->o.auth), e->message);
    }
    pthread_cond_broadcast(&c->auth_cond);
    if (rc != SFC_OK)
        return api_fail(err, e);
    return SFC_OK;
}

bool sfc_api_client_login_refused(struct sfc_api_client *c,
                                  char *why,
                                  size_t why_size)
{
    const struct sfc_api_error *le;
    bool refused;

    pthread_mutex_lock(&c->auth_lock);
    le = c->login_error;
    refused = le && le->code == SFC_ERR_AUTH && le->http_status >= 400 &&
              le->http_status < 500;
    if (refused)
        sfc_errstr_set(why, why_size, "%s", le->message);
    pthread_mutex_unlock(&c->auth_lock);
    return refused;
}

/* A copy of the last login failure, for callers that waited on it. */
static sfc_err_t waited_failure(struct sfc_api_client *c,
                                struct sfc_api_error **err)
{
    const struct sfc_api_error *le = c->login_error;

    if (!le)
        return api_fail(err, sfc_api_error_new(SFC_ERR_AUTH, 0, NULL, NULL,
                                               "login failed"));
    return api_fail(err,
                    sfc_api_error_new(le->code, le->http_status, le->error_code,
                                      le->fields, "%s", le->message));
}

/* Ensures a session exists; auth_lock held on entry and exit. */
static sfc_err_t ensure_session_locked(struct sfc_api_client *c,
                                       struct sfc_api_error **err)
{
    uint64_t attempts = c->login_attempts;

    while (c->logging_in)
        pthread_cond_wait(&c->auth_cond, &c->auth_lock);
    if (c->have_session && c->s.expires_at_ms &&
        sfc_now_ms() > c->s.expires_at_ms - 60000)
        c->have_session = false; /* refresh ahead of expiry */
    if (c->have_session)
        return SFC_OK;
    /* Someone else's attempt just failed: report it rather than pile on. */
    if (c->login_attempts != attempts)
        return waited_failure(c, err);
    return login_locked(c, err);
}

sfc_err_t sfc_api_client_login(struct sfc_api_client *c,
                               struct sfc_api_error **err)
{
    sfc_err_t rc;

    c = api_owner(c); /* a pool view logs in through its base */
    pthread_mutex_lock(&c->auth_lock);
    rc = ensure_session_locked(c, err);
    pthread_mutex_unlock(&c->auth_lock);
    return rc;
}

sfc_err_t sfc_api_client_relogin(struct sfc_api_client *c,
                                 uint64_t seen_generation,
                                 struct sfc_api_error **err)
{
    sfc_err_t rc = SFC_OK;

    c = api_owner(c); /* a pool view logs in through its base */
    pthread_mutex_lock(&c->auth_lock);
    while (c->logging_in)
        pthread_cond_wait(&c->auth_cond, &c->auth_lock);
    if (c->have_session && c->s.generation > seen_generation)
        goto out_unlock; /* another caller already logged in again */
    if (c->o.auth == SFC_API_AUTH_TOKEN) {
        rc = api_fail(err, sfc_api_error_new(SFC_ERR_AUTH, 401,
                                             "INVALID_SESSION_ID", NULL,
                                             "the static access token was "
                                             "refused and cannot be renewed"));
        goto out_unlock;
    }
    c->have_session = false;
    rc = login_locked(c, err);
out_unlock:
    pthread_mutex_unlock(&c->auth_lock);
    return rc;
}

sfc_err_t sfc_api_client_session(struct sfc_api_client *c,
                                 struct sfc_api_session *out,
                                 struct sfc_api_error **err)
{
    sfc_err_t rc;

    c = api_owner(c); /* a pool view logs in through its base */
    pthread_mutex_lock(&c->auth_lock);
    rc = ensure_session_locked(c, err);
    if (rc == SFC_OK) {
        out->instance_url = sfc_xstrdup(c->s.instance_url);
        out->access_token = sfc_xstrdup(c->s.access_token);
        out->api_version = sfc_xstrdup(c->s.api_version);
        out->user_id = sfc_xstrdup(c->s.user_id);
        out->org_id = sfc_xstrdup(c->s.org_id);
        out->generation = c->s.generation;
    }
    pthread_mutex_unlock(&c->auth_lock);
    return rc;
}

void sfc_api_session_clear(struct sfc_api_session *s)
{
    free(s->instance_url);
    sfc_free_secret(s->access_token);
    free(s->api_version);
    free(s->user_id);
    free(s->org_id);
    memset(s, 0, sizeof(*s));
}

sfc_err_t api_snapshot_take(struct sfc_api_client *c,
                            struct api_snapshot *s,
                            struct sfc_api_error **err)
{
    sfc_err_t rc;

    c = api_owner(c); /* a pool view logs in through its base */
    pthread_mutex_lock(&c->auth_lock);
    rc = ensure_session_locked(c, err);
    if (rc == SFC_OK) {
        s->instance_url = sfc_xstrdup(c->s.instance_url);
        s->auth_header =
            sfc_xasprintf("Authorization: Bearer %s", c->s.access_token);
        snprintf(s->api_version, sizeof(s->api_version), "%s",
                 c->s.api_version);
        s->generation = c->s.generation;
    }
    pthread_mutex_unlock(&c->auth_lock);
    return rc;
}

void api_snapshot_clear(struct api_snapshot *s)
{
    free(s->instance_url);
    sfc_free_secret(s->auth_header);
    memset(s, 0, sizeof(*s));
}
