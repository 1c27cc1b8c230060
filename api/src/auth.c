/*
 * Login flows: OAuth (password, refresh token, JWT bearer, client
 * credentials), SOAP login(), a static token; then the API version; and
 * the session's user when the login did not name it (OpenID Connect
 * UserInfo). Nothing here logs or reports a credential.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_int.h"

#define SOAP_DEFAULT_VERSION "60.0"

/* Appends "&name=value" with the value form-encoded. */
static void
form_add(struct sfc_buf *b, CURL *h, const char *name, const char *value)
{
    char *esc = curl_easy_escape(h, value ? value : "", 0);

    sfc_buf_appendf(b, "%s%s=%s", b->len ? "&" : "", name, esc);
    /* The encoded value may be a secret: wipe it before freeing. */
    explicit_bzero(esc, strlen(esc));
    curl_free(esc);
}

static void wipe_buf(struct sfc_buf *b)
{
    if (b->data)
        explicit_bzero(b->data, b->len);
    sfc_buf_free(b);
}

/*
 * JWT audience: test.salesforce.com for sandboxes, an Experience Cloud site
 * (*.force.com) as itself, login.salesforce.com otherwise, even when the
 * token request goes to a My Domain host (Salesforce refuses a My Domain
 * audience).
 */
static char *jwt_audience(const char *login_url)
{
    const char *p = strstr(login_url, "://");
    size_t host_len;

    p = p ? p + 3 : login_url;
    host_len = strcspn(p, "/:");
    if ((host_len >= 19 && strncasecmp(p, "test.salesforce.com", 19) == 0) ||
        (host_len > 26 &&
         strncasecmp(p + host_len - 26, ".sandbox.my.salesforce.com", 26) == 0))
        return sfc_xstrdup("https://test.salesforce.com");
    if (host_len > 10 && strncasecmp(p + host_len - 10, ".force.com", 10) == 0)
        return sfc_xstrdup(login_url);
    return sfc_xstrdup("https://login.salesforce.com");
}

/* Builds the token request form for the configured OAuth flow. */
static sfc_err_t oauth_form(struct sfc_api_client *c,
                            CURL *h,
                            struct sfc_buf *form,
                            struct sfc_api_error **err)
{
    const struct sfc_api_options *o = &c->o;
    char errstr[256];

    switch (o->auth) {
    case SFC_API_AUTH_PASSWORD: {
        char *pw = sfc_xasprintf("%s%s", o->password ? o->password : "",
                                 o->security_token ? o->security_token : "");

        form_add(form, h, "grant_type", "password");
        form_add(form, h, "client_id", o->client_id);
        form_add(form, h, "client_secret", o->client_secret);
        form_add(form, h, "username", o->username);
        form_add(form, h, "password", pw);
        sfc_free_secret(pw);
        return SFC_OK;
    }
    case SFC_API_AUTH_REFRESH_TOKEN:
        form_add(form, h, "grant_type", "refresh_token");
        form_add(form, h, "refresh_token", o->refresh_token);
        form_add(form, h, "client_id", o->client_id);
        if (o->client_secret)
            form_add(form, h, "client_secret", o->client_secret);
        return SFC_OK;
    case SFC_API_AUTH_CLIENT_CREDENTIALS:
        form_add(form, h, "grant_type", "client_credentials");
        form_add(form, h, "client_id", o->client_id);
        form_add(form, h, "client_secret", o->client_secret);
        return SFC_OK;
    case SFC_API_AUTH_JWT: {
        char *aud = jwt_audience(o->login_url);
        char *jwt = api_jwt_assertion(o->client_id, o->username, aud,
                                      o->private_key_file, sfc_wall_ms() / 1000,
                                      errstr, sizeof(errstr));

        free(aud);
        if (!jwt)
            return api_fail(err, sfc_api_error_new(SFC_ERR_AUTH, 0, NULL, NULL,
                                                   "%s", errstr));
        form_add(form, h, "grant_type",
                 "urn:ietf:params:oauth:grant-type:jwt-bearer");
        form_add(form, h, "assertion", jwt);
        sfc_free_secret(jwt);
        return SFC_OK;
    }
    default:
        return api_fail(err, sfc_api_error_new(SFC_ERR_INTERNAL, 0, NULL, NULL,
                                               "not an OAuth flow"));
    }
}

/* Runs one login POST on a pooled handle. */
static sfc_err_t login_post(struct sfc_api_client *c,
                            const char *url,
                            struct curl_slist *hdrs,
                            struct sfc_buf *body,
                            struct api_response *r,
                            struct sfc_api_error **err)
{
    struct api_slot *slot = api_slot_acquire(c);
    sfc_err_t rc;

    if (!slot && api_cancelled(c))
        return api_fail(err, sfc_api_error_new(SFC_ERR_CLOSED, 0, NULL, NULL,
                                               "login stopped: the client is "
                                               "shutting down"));
    if (!slot)
        return api_fail(err, sfc_api_error_new(SFC_ERR_BUSY, 0, NULL, NULL,
                                               "no free REST client for the "
                                               "login"));
    rc = api_http_perform(c, slot, "POST", url, hdrs, body->data, body->len,
                          API_NONIDEMPOTENT, r);
    api_slot_release(c, slot);
    if (rc != SFC_OK)
        return api_fail(err, sfc_api_error_new(rc, 0, NULL, NULL,
                                               "login request to %s failed: "
                                               "%s",
                                               url, r->errbuf));
    return SFC_OK;
}

static sfc_err_t oauth_login(struct sfc_api_client *c,
                             struct api_session *out,
                             struct sfc_api_error **err)
{
    struct sfc_buf form;
    struct api_response r;
    struct curl_slist *hdrs = NULL;
    char *url = sfc_xasprintf("%s/services/oauth2/token", c->o.login_url);
    char errstr[256];
    sfc_err_t rc;

    sfc_buf_init(&form, 0);
    api_response_init(&r, 1 << 20);
    rc = oauth_form(c, NULL, &form, err);
    if (rc != SFC_OK)
        goto out_free;
    hdrs = curl_slist_append(hdrs, "Content-Type: "
                                   "application/x-www-form-urlencoded");
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    rc = login_post(c, url, hdrs, &form, &r, err);
    if (rc != SFC_OK)
        goto out_free;
    if (r.status != 200) {
        struct sfc_api_error *e =
            sfc_api_error_from_response(r.status, r.body.data, r.body.len);

        /* Every refused login is an authentication failure. */
        if (r.status < 500 && e->code != SFC_ERR_LIMIT)
            e->code = SFC_ERR_AUTH;
        rc = api_fail(err, e);
        goto out_free;
    }
    rc = api_parse_token_response(r.body.data, r.body.len, out, errstr,
                                  sizeof(errstr));
    if (rc != SFC_OK)
        rc = api_fail(err,
                      sfc_api_error_new(SFC_ERR_AUTH, r.status, NULL, NULL,
                                        "unusable token response: %s", errstr));
out_free:
    curl_slist_free_all(hdrs);
    wipe_buf(&form);
    wipe_buf(&r.body);
    free(url);
    return rc;
}

/* XML-escapes @s into @b. */
static void xml_add(struct sfc_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            sfc_buf_append(b, "&amp;", 5);
            break;
        case '<':
            sfc_buf_append(b, "&lt;", 4);
            break;
        case '>':
            sfc_buf_append(b, "&gt;", 4);
            break;
        case '"':
            sfc_buf_append(b, "&quot;", 6);
            break;
        default:
            sfc_buf_append(b, s, 1);
        }
    }
}

static sfc_err_t soap_login(struct sfc_api_client *c,
                            struct api_session *out,
                            struct sfc_api_error **err)
{
    struct sfc_buf env;
    struct api_response r;
    struct curl_slist *hdrs = NULL;
    const char *ver =
        c->fixed_version[0] ? c->fixed_version : SOAP_DEFAULT_VERSION;
    char *url = sfc_xasprintf("%s/services/Soap/u/%s", c->o.login_url, ver);
    char errstr[512];
    sfc_err_t rc;

    sfc_buf_init(&env, 0);
    api_response_init(&r, 1 << 20);
    sfc_buf_appendf(&env, "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
                          "<env:Envelope xmlns:xsd=\"http://www.w3.org/2001/"
                          "XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/"
                          "XMLSchema-instance\" xmlns:env=\"http://schemas."
                          "xmlsoap.org/soap/envelope/\"><env:Body><n1:login "
                          "xmlns:n1=\"urn:partner.soap.sforce.com\">"
                          "<n1:username>");
    xml_add(&env, c->o.username);
    sfc_buf_appendf(&env, "</n1:username><n1:password>");
    xml_add(&env, c->o.password);
    xml_add(&env, c->o.security_token);
    sfc_buf_appendf(&env, "</n1:password></n1:login></env:Body>"
                          "</env:Envelope>");
    hdrs = curl_slist_append(hdrs, "Content-Type: text/xml; charset=UTF-8");
    hdrs = curl_slist_append(hdrs, "SOAPAction: login");
    rc = login_post(c, url, hdrs, &env, &r, err);
    if (rc != SFC_OK)
        goto out_free;
    rc = api_parse_soap_login(r.body.data ? r.body.data : "", out, errstr,
                              sizeof(errstr));
    if (rc != SFC_OK)
        rc = api_fail(err, sfc_api_error_new(SFC_ERR_AUTH, r.status, NULL, NULL,
                                             "%s", errstr));
out_free:
    curl_slist_free_all(hdrs);
    wipe_buf(&env);
    wipe_buf(&r.body);
    free(url);
    return rc;
}

/* Resolves "latest" with GET /services/data/ on the instance. */
static sfc_err_t resolve_version(struct sfc_api_client *c,
                                 struct api_session *s,
                                 struct sfc_api_error **err)
{
    struct api_response r;
    struct api_slot *slot;
    char *url;
    sfc_err_t rc;

    if (c->fixed_version[0]) {
        snprintf(s->api_version, sizeof(s->api_version), "%s",
                 c->fixed_version);
        return SFC_OK;
    }
    slot = api_slot_acquire(c);
    if (!slot)
        return api_fail(err, sfc_api_error_new(SFC_ERR_BUSY, 0, NULL, NULL,
                                               "no free REST client"));
    url = sfc_xasprintf("%s/services/data/", s->instance_url);
    api_response_init(&r, 1 << 20);
    rc = api_http_perform(c, slot, "GET", url, NULL, NULL, 0, 0, &r);
    api_slot_release(c, slot);
    if (rc != SFC_OK || r.status != 200 ||
        !api_parse_latest_version(r.body.data, r.body.len, s->api_version,
                                  sizeof(s->api_version)))
        rc = api_fail(err, sfc_api_error_new(rc ? rc : SFC_ERR_PROTOCOL,
                                             r.status, NULL, NULL,
                                             "cannot list API versions at "
                                             "%s",
                                             url));
    api_response_free(&r);
    free(url);
    return rc;
}

sfc_err_t api_login_flow(struct sfc_api_client *c,
                         struct api_session *out,
                         struct sfc_api_error **err)
{
    struct api_session s = {0};
    sfc_err_t rc;

    switch (c->o.auth) {
    case SFC_API_AUTH_TOKEN:
        s.instance_url = sfc_xstrdup(c->o.instance_url);
        s.access_token = sfc_xstrdup(c->o.access_token);
        rc = SFC_OK;
        break;
    case SFC_API_AUTH_SOAP:
        rc = soap_login(c, &s, err);
        break;
    default:
        rc = oauth_login(c, &s, err);
    }
    if (rc == SFC_OK && api_url_insecure(s.instance_url) &&
        !c->o.allow_insecure_http)
        rc = api_fail(err, sfc_api_error_new(SFC_ERR_AUTH, 0, NULL, NULL,
                                             "the login returned a plain "
                                             "http instance URL %s; refusing "
                                             "to send the session there",
                                             s.instance_url));
    if (rc == SFC_OK)
        rc = resolve_version(c, &s, err);
    if (rc != SFC_OK) {
        api_session_free(&s);
        return rc;
    }
    *out = s;
    return SFC_OK;
}

/* Keeps what UserInfo said with the session it was asked under. */
static void learn_user(struct sfc_api_client *c,
                       uint64_t generation,
                       const char *user_id,
                       const char *org_id)
{
    c = api_owner(c); /* a pool view keeps its base's session */
    pthread_mutex_lock(&c->auth_lock);
    if (c->have_session && c->s.generation == generation && !c->s.user_id) {
        c->s.user_id = sfc_xstrdup(user_id);
        if (!c->s.org_id && org_id)
            c->s.org_id = sfc_xstrdup(org_id);
    }
    pthread_mutex_unlock(&c->auth_lock);
}

sfc_err_t sfc_api_client_user_id(struct sfc_api_client *c,
                                 char **user_id,
                                 struct sfc_api_error **err)
{
    struct sfc_api_session s = {0};
    struct sfc_api_error *e = NULL;
    const char *uid = NULL, *org = NULL;
    cJSON *info = NULL;
    char why[256] = "";
    sfc_err_t rc;

    rc = sfc_api_client_session(c, &s, err);
    if (rc != SFC_OK)
        return rc;
    if (s.user_id) {
        *user_id = s.user_id;
        s.user_id = NULL;
        goto out;
    }
    /* The identity URL needs the user id itself; UserInfo does not. */
    rc = sfc_api_request(c, "GET", "/services/oauth2/userinfo", NULL, NULL,
                         &info, &e);
    if (rc == SFC_OK &&
        sfc_json_get_str(info, "user_id", &uid, why, sizeof(why)) != SFC_OK)
        rc = SFC_ERR_PROTOCOL;
    if (rc == SFC_OK && !sfc_api_id_valid(uid)) {
        snprintf(why, sizeof(why), "user_id is not a record id");
        rc = SFC_ERR_PROTOCOL;
    }
    if (rc != SFC_OK) {
        rc = api_fail(err, sfc_api_error_new(
                               rc, e ? e->http_status : 0,
                               e ? e->error_code : NULL, NULL,
                               "the login does not name its user, and GET "
                               "%s/services/oauth2/userinfo did not either: "
                               "%s",
                               s.instance_url, e ? e->message : why));
        goto out;
    }
    sfc_json_get_str_opt(info, "organization_id", &org, NULL, 0);
    learn_user(c, s.generation, uid, org);
    sfc_log(SFC_LOG_INFO, API_MOD, "the session's user is %s (UserInfo)", uid);
    *user_id = sfc_xstrdup(uid);
out:
    sfc_api_error_destroy(e);
    cJSON_Delete(info);
    sfc_api_session_clear(&s);
    return rc;
}
