/*
 * auth_oauth.c - POST /services/oauth2/token (password, refresh_token,
 * JWT bearer, client_credentials) and /services/oauth2/revoke, with the
 * success and error bodies of rest-wire.md 1.2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sim_int.h"
#include "sfc/common.h"

#define JWT_GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"

void sim_oauth_error(struct sim_response *resp,
                     int status,
                     const char *err,
                     const char *desc)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", err);
    cJSON_AddStringToObject(o, "error_description", desc);
    sim_response_json(resp, status, o);
    resp->no_limit_info = true;
}

void sim_oauth_success(struct sim *sim,
                       struct sim_response *resp,
                       const struct sim_user *u,
                       const char *client_secret,
                       const char *refresh_token)
{
    cJSON *o = cJSON_CreateObject();
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    unsigned char sig[2 * EVP_MAX_MD_SIZE];
    char token[128], issued[32], *id, *signed_text;
    int64_t issued_ms;

    sim_session_create(sim, u->id, u->username, token, sizeof(token),
                       &issued_ms);
    snprintf(issued, sizeof(issued), "%lld", (long long)issued_ms);
    id = sfc_xasprintf("%s/id/%s/%s", sim->base_url, sim->org_id, u->id);
    signed_text = sfc_xasprintf("%s%s", id, issued);
    HMAC(EVP_sha256(), client_secret, (int)strlen(client_secret),
         (const unsigned char *)signed_text, strlen(signed_text), mac,
         &mac_len);
    EVP_EncodeBlock(sig, mac, (int)mac_len);
    cJSON_AddStringToObject(o, "access_token", token);
    if (refresh_token)
        cJSON_AddStringToObject(o, "refresh_token", refresh_token);
    cJSON_AddStringToObject(o, "signature", (const char *)sig);
    cJSON_AddStringToObject(o, "scope", "api refresh_token");
    cJSON_AddStringToObject(o, "instance_url", sim->base_url);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "token_type", "Bearer");
    cJSON_AddStringToObject(o, "issued_at", issued);
    sim_response_json(resp, 200, o);
    resp->no_limit_info = true;
    free(id);
    free(signed_text);
}

struct cred {
    char *grant;
    char *client_id;
    char *client_secret;
};

static char *param(const struct sim_request *req, const char *name)
{
    char *v = sim_form_get(req->body, name);
    const char *q;
    if (v)
        return v;
    q = sim_request_arg(req, name);
    return q ? sfc_xstrdup(q) : NULL;
}

/* client_id/secret from the form or from "Authorization: Basic". */
static void read_client(const struct sim_request *req, struct cred *c)
{
    unsigned char dec[512];
    const char *a = req->authorization;
    int n;

    c->client_id = param(req, "client_id");
    c->client_secret = param(req, "client_secret");
    if (c->client_id || strncasecmp(a, "Basic ", 6) != 0 || strlen(a + 6) > 600)
        return;
    n = EVP_DecodeBlock(dec, (const unsigned char *)a + 6, (int)strlen(a + 6));
    if (n > 0) {
        char *colon;
        dec[n] = '\0';
        colon = strchr((char *)dec, ':');
        if (colon) {
            *colon = '\0';
            c->client_id = sfc_xstrdup((char *)dec);
            c->client_secret = sfc_xstrdup(colon + 1);
        }
        OPENSSL_cleanse(dec, sizeof(dec));
    }
}

static const struct sim_app *find_app(struct sim *sim, const char *cid)
{
    size_t i;
    for (i = 0; cid && i < sim->auth->n_apps; i++)
        if (strcmp(sim->auth->apps[i].client_id, cid) == 0)
            return &sim->auth->apps[i];
    return NULL;
}

/* Checks the app; answers the error and returns NULL when bad. */
static const struct sim_app *check_app(struct sim *sim,
                                       const struct cred *c,
                                       bool need_secret,
                                       struct sim_response *resp)
{
    const struct sim_app *app = find_app(sim, c->client_id);
    if (!app) {
        sim_oauth_error(resp, 400, "invalid_client_id",
                        "client identifier invalid");
        return NULL;
    }
    if ((need_secret || c->client_secret) &&
        (!c->client_secret ||
         strcmp(c->client_secret, app->client_secret) != 0)) {
        sim_oauth_error(resp, 400, "invalid_client",
                        "invalid client credentials");
        return NULL;
    }
    return app;
}

/* In-flight token requests per credential, with their max. */
static void inflight(struct sim *sim, const char *who, int delta)
{
    char key[200], maxkey[200];
    snprintf(key, sizeof(key), "token_inflight:%s", who);
    snprintf(maxkey, sizeof(maxkey), "token_max_concurrency:%s", who);
    pthread_mutex_lock(&sim->auth->lock);
    sim_stats_add(sim, key, delta);
    sim_stats_max(sim, maxkey, sim_stats_get(sim, key));
    pthread_mutex_unlock(&sim->auth->lock);
}

static void grant_password(struct sim *sim,
                           const struct sim_request *req,
                           const struct cred *c,
                           struct sim_response *resp)
{
    char *username = param(req, "username");
    char *password = param(req, "password");
    const struct sim_app *app;
    const struct sim_user *u;
    char *expect;

    app = check_app(sim, c, false, resp);
    if (!app)
        goto out;
    u = username ? sim_auth_find_user(sim->auth, username) : NULL;
    if (sim->opt.password_flow_blocked || !u || !password || !u->active) {
        sim_oauth_error(resp, 400, "invalid_grant", "authentication failure");
        goto out;
    }
    expect = sfc_xasprintf("%s%s", u->password, u->token);
    if (strcmp(password, expect) != 0) {
        bool no_token = u->token[0] && strcmp(password, u->password) == 0;
        sim_oauth_error(resp, 400, "invalid_grant",
                        no_token ? "authentication failure - Failed: API "
                                   "security token required"
                                 : "authentication failure");
    } else {
        sim_auth_count_login(sim, "password", u->username);
        sim_oauth_success(sim, resp, u, app->client_secret, NULL);
    }
    sfc_free_secret(expect);
out:
    free(username);
    sfc_free_secret(password);
}

static void rotate(struct sim *sim, struct sim_refresh *r, char *out, size_t sz)
{
    snprintf(out, sz, "5Aep861%016llx%016llx",
             (unsigned long long)sim_rand(sim),
             (unsigned long long)sim_rand(sim));
    sfc_free_secret(r->token);
    r->token = sfc_xstrdup(out);
}

static void grant_refresh(struct sim *sim,
                          const struct sim_request *req,
                          const struct cred *c,
                          struct sim_response *resp)
{
    char *tok = param(req, "refresh_token");
    const struct sim_app *app = check_app(sim, c, false, resp);
    struct sim_refresh *r = NULL;
    const struct sim_user *u = NULL;
    char newtok[64] = "";
    size_t i;

    if (!app)
        goto out;
    pthread_mutex_lock(&sim->auth->lock);
    for (i = 0; tok && i < sim->auth->n_refresh; i++)
        if (strcmp(sim->auth->refresh[i].token, tok) == 0)
            r = &sim->auth->refresh[i];
    if (r && !r->revoked && r->in_flight) {
        pthread_mutex_unlock(&sim->auth->lock);
        sim_oauth_error(resp, 400, "invalid_grant",
                        "token request is already being processed");
        goto out;
    }
    if (r && !r->revoked && strcmp(r->client_id, app->client_id) == 0)
        u = sim_auth_find_user(sim->auth, r->username);
    if (!u) {
        pthread_mutex_unlock(&sim->auth->lock);
        sim_oauth_error(resp, 400, "invalid_grant",
                        "expired access/refresh token");
        goto out;
    }
    r->in_flight = true;
    pthread_mutex_unlock(&sim->auth->lock);
    if (sim->opt.login_delay_ms > 0)
        sfc_sleep_ms(sim->opt.login_delay_ms);
    pthread_mutex_lock(&sim->auth->lock);
    r->in_flight = false;
    if (sim->opt.refresh_rotation)
        rotate(sim, r, newtok, sizeof(newtok));
    pthread_mutex_unlock(&sim->auth->lock);
    sim_stats_add(sim, "token_refreshes", 1);
    sim_auth_count_login(sim, "refresh_token", u->username);
    sim_oauth_success(sim, resp, u, app->client_secret,
                      newtok[0] ? newtok : NULL);
out:
    sfc_free_secret(tok);
}

static void grant_jwt(struct sim *sim,
                      const struct sim_request *req,
                      struct sim_response *resp)
{
    char *assertion = param(req, "assertion");
    const struct sim_user *u = NULL;
    const char *err = "invalid assertion";

    if (!assertion || !sim_jwt_verify(sim, assertion, &u, &err)) {
        sim_oauth_error(resp, 400, "invalid_grant", err);
    } else {
        sim_auth_count_login(sim, "jwt", u->username);
        sim_oauth_success(sim, resp, u, "sfsim-jwt", NULL);
    }
    sfc_free_secret(assertion);
}

static void grant_client_credentials(struct sim *sim,
                                     const struct sim_request *req,
                                     const struct cred *c,
                                     struct sim_response *resp)
{
    const struct sim_app *app;
    const struct sim_user *u;

    if (strncasecmp(req->host, "login.", 6) == 0 ||
        strncasecmp(req->host, "test.", 5) == 0) {
        sim_oauth_error(resp, 400, "invalid_grant",
                        "request not supported on this domain");
        return;
    }
    app = check_app(sim, c, true, resp);
    if (!app)
        return;
    u = app->run_as ? sim_auth_find_user(sim->auth, app->run_as) : NULL;
    if (!u) {
        sim_oauth_error(resp, 400, "invalid_grant",
                        "no client credentials user enabled");
        return;
    }
    sim_auth_count_login(sim, "client_credentials", app->client_id);
    sim_oauth_success(sim, resp, u, app->client_secret, NULL);
}

void sim_oauth_token(struct sim *sim,
                     const struct sim_request *req,
                     struct sim_response *resp)
{
    struct cred c;
    const char *who;

    memset(&c, 0, sizeof(c));
    if (strcmp(req->method, "POST") != 0) {
        sim_oauth_error(resp, 400, "invalid_request", "must use HTTP POST");
        return;
    }
    c.grant = param(req, "grant_type");
    read_client(req, &c);
    who = c.client_id ? c.client_id : "-";
    inflight(sim, who, 1);
    if (sim->opt.login_delay_ms > 0 && c.grant &&
        strcmp(c.grant, "refresh_token") != 0)
        sfc_sleep_ms(sim->opt.login_delay_ms);
    if (!c.grant)
        sim_oauth_error(resp, 400, "unsupported_grant_type",
                        "grant type not supported");
    else if (strcmp(c.grant, "password") == 0)
        grant_password(sim, req, &c, resp);
    else if (strcmp(c.grant, "refresh_token") == 0)
        grant_refresh(sim, req, &c, resp);
    else if (strcmp(c.grant, JWT_GRANT) == 0)
        grant_jwt(sim, req, resp);
    else if (strcmp(c.grant, "client_credentials") == 0)
        grant_client_credentials(sim, req, &c, resp);
    else
        sim_oauth_error(resp, 400, "unsupported_grant_type",
                        "grant type not supported");
    sim_stats_add(sim, "token_requests", 1);
    inflight(sim, who, -1);
    free(c.grant);
    free(c.client_id);
    sfc_free_secret(c.client_secret);
}

void sim_oauth_revoke(struct sim *sim,
                      const struct sim_request *req,
                      struct sim_response *resp)
{
    char *tok = param(req, "token");
    bool found = false;
    size_t i;

    if (tok) {
        found = sim_session_revoke(sim, tok);
        pthread_mutex_lock(&sim->auth->lock);
        for (i = 0; i < sim->auth->n_refresh; i++) {
            if (strcmp(sim->auth->refresh[i].token, tok) == 0) {
                sim->auth->refresh[i].revoked = true;
                found = true;
            }
        }
        pthread_mutex_unlock(&sim->auth->lock);
    }
    if (found) {
        sim_response_set(resp, 200, "text/plain", "", 0);
        resp->no_limit_info = true;
        sim_stats_add(sim, "revocations", 1);
    } else {
        sim_oauth_error(resp, 400, "unsupported_token_type",
                        "this token type is not supported");
    }
    sfc_free_secret(tok);
}
