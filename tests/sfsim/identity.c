/*
 * identity.c - who the session's user is: the identity URL that logins
 * hand out (GET /id/<orgId>/<userId>) and the OpenID Connect UserInfo
 * endpoint (GET or POST /services/oauth2/userinfo). The token comes as
 * "Authorization: Bearer|OAuth" or as ?oauth_token=. Refusals are text, as
 * Salesforce's are: 403 Bad_OAuth_Token / Wrong_Org, 404 Bad_Id. Neither
 * counts as an API call. JSON only (Salesforce also serves XML).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"
#include "sfc/common.h"

static void refuse(struct sim_response *resp, int status, const char *why)
{
    sim_response_set(resp, status, "text/plain;charset=UTF-8", why,
                     strlen(why));
    resp->no_limit_info = true;
}

/* The caller's session from the header or ?oauth_token=; false refused. */
static bool caller(struct sim *sim,
                   const struct sim_request *req,
                   struct sim_session_info *who,
                   struct sim_response *resp)
{
    const char *tok = sim_request_arg(req, "oauth_token");
    char *auth = tok && *tok ? sfc_xasprintf("Bearer %s", tok)
                             : sfc_xstrdup(req->authorization);
    bool ok = sim_auth_check(sim, auth, who, NULL);

    sfc_free_secret(auth);
    if (!ok)
        refuse(resp, 403, "Bad_OAuth_Token");
    return ok;
}

static const char *field(const cJSON *rec, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void add_str_or_null(cJSON *o, const char *name, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

/* The "urls" object; @ver is "{version}" unless ?version= asked. */
static cJSON *urls(struct sim *sim, const char *user_id, const char *ver)
{
    /* soap: the SOAP endpoint letter; else a path under the REST base. */
    static const struct {
        const char *name;
        char soap;
        const char *rest;
    } U[] = {
        {"enterprise", 'c', NULL},
        {"metadata", 'm', NULL},
        {"partner", 'u', NULL},
        {"rest", 0, ""},
        {"sobjects", 0, "sobjects/"},
        {"search", 0, "search/"},
        {"query", 0, "query/"},
        {"recent", 0, "recent/"},
        {"tooling_soap", 'T', NULL},
        {"tooling_rest", 0, "tooling/"},
        {"profile", 0, NULL},
        {"feeds", 0, "chatter/feeds"},
        {"groups", 0, "chatter/groups"},
        {"users", 0, "chatter/users"},
        {"feed_items", 0, "chatter/feed-items"},
        {"feed_elements", 0, "chatter/feed-elements"},
    };
    cJSON *o = cJSON_CreateObject();
    size_t i;

    for (i = 0; i < sizeof(U) / sizeof(U[0]); i++) {
        char *u;

        if (U[i].soap)
            u = sfc_xasprintf("%s/services/Soap/%c/%s/%.15s", sim->base_url,
                              U[i].soap, ver, sim->org_id);
        else if (U[i].rest)
            u = sfc_xasprintf("%s/services/data/v%s/%s", sim->base_url, ver,
                              U[i].rest);
        else
            u = sfc_xasprintf("%s/%s", sim->base_url, user_id);
        cJSON_AddStringToObject(o, U[i].name, u);
        free(u);
    }
    cJSON_AddStringToObject(o, "custom_domain", sim->base_url);
    return o;
}

/* ?version=NN.0 or latest; "{version}" without. False: 406 sent. */
static bool want_version(struct sim *sim,
                         const struct sim_request *req,
                         char *out,
                         size_t sz,
                         struct sim_response *resp)
{
    const char *v = sim_request_arg(req, "version");
    char seg[24];
    double d;

    if (!v || !*v) {
        snprintf(out, sz, "{version}");
        return true;
    }
    if (strcmp(v, "latest") == 0) {
        snprintf(out, sz, "%.1f", sim->opt.max_api_version);
        return true;
    }
    snprintf(seg, sizeof(seg), "v%s", v);
    if (!sim_parse_version(seg, &d) || d < sim->opt.min_api_version ||
        d > sim->opt.max_api_version) {
        refuse(resp, 406, "No_Version");
        return false;
    }
    snprintf(out, sz, "%.1f", d);
    return true;
}

static cJSON *photos(struct sim *sim, const char *user_id)
{
    cJSON *p = cJSON_CreateObject();
    char *u =
        sfc_xasprintf("%s/profilephoto/005/F?uid=%s", sim->base_url, user_id);

    cJSON_AddStringToObject(p, "picture", u);
    free(u);
    u = sfc_xasprintf("%s/profilephoto/005/T?uid=%s", sim->base_url, user_id);
    cJSON_AddStringToObject(p, "thumbnail", u);
    free(u);
    return p;
}

/* Fields both resources share, in Salesforce's order at the end. */
static void add_tail(cJSON *o, cJSON *urls_obj)
{
    cJSON_AddItemToObject(o, "urls", urls_obj);
    cJSON_AddTrueToObject(o, "active");
    cJSON_AddStringToObject(o, "user_type", "STANDARD");
    cJSON_AddStringToObject(o, "language", "en_US");
    cJSON_AddStringToObject(o, "locale", "en_US");
    cJSON_AddNumberToObject(o, "utcOffset", -28800000);
}

static cJSON *identity_json(struct sim *sim,
                            const char *id_url,
                            const cJSON *user,
                            const char *ver)
{
    cJSON *o = cJSON_CreateObject(), *st;
    const char *uid = field(user, "Id"), *username = field(user, "Username");
    char nick[128];

    snprintf(nick, sizeof(nick), "%.*s", (int)strcspn(username, "@"), username);
    cJSON_AddStringToObject(o, "id", id_url);
    cJSON_AddTrueToObject(o, "asserted_user");
    cJSON_AddStringToObject(o, "user_id", uid);
    cJSON_AddStringToObject(o, "organization_id", sim->org_id);
    cJSON_AddStringToObject(o, "username", username);
    cJSON_AddStringToObject(o, "nick_name", nick);
    add_str_or_null(o, "display_name", field(user, "Name"));
    add_str_or_null(o, "email", field(user, "Email"));
    cJSON_AddTrueToObject(o, "email_verified");
    add_str_or_null(o, "first_name", field(user, "FirstName"));
    add_str_or_null(o, "last_name", field(user, "LastName"));
    cJSON_AddStringToObject(o, "timezone", "America/Los_Angeles");
    cJSON_AddItemToObject(o, "photos", photos(sim, uid));
    cJSON_AddNullToObject(o, "addr_street");
    cJSON_AddNullToObject(o, "addr_city");
    cJSON_AddNullToObject(o, "addr_state");
    cJSON_AddNullToObject(o, "addr_country");
    cJSON_AddNullToObject(o, "addr_zip");
    cJSON_AddNullToObject(o, "mobile_phone");
    cJSON_AddFalseToObject(o, "mobile_phone_verified");
    cJSON_AddFalseToObject(o, "is_lightning_login_user");
    st = cJSON_AddObjectToObject(o, "status");
    cJSON_AddNullToObject(st, "created_date");
    cJSON_AddNullToObject(st, "body");
    add_tail(o, urls(sim, uid, ver));
    add_str_or_null(o, "last_modified_date", field(user, "LastModifiedDate"));
    cJSON_AddTrueToObject(o, "is_app_installed");
    return o;
}

void sim_identity(struct sim *sim,
                  const struct sim_request *req,
                  struct sim_response *resp)
{
    struct sim_session_info who;
    char org[64] = "", user[64] = "", org18[19], user18[19], ver[24];
    char *id_url;
    cJSON *rec;

    if (!caller(sim, req, &who, resp))
        return;
    if (sscanf(req->path, "/id/%63[^/]/%63[^/]", org, user) != 2 ||
        !sim_id_normalize(org, org18) || !sim_id_normalize(user, user18)) {
        refuse(resp, 404, "Bad_Id");
        return;
    }
    if (strcmp(org18, who.org_id) != 0) {
        refuse(resp, 403, "Wrong_Org");
        return;
    }
    rec = sim_record_get(sim, "User", user18);
    if (!rec) {
        refuse(resp, 404, "Bad_Id");
        return;
    }
    if (want_version(sim, req, ver, sizeof(ver), resp)) {
        id_url = sfc_xasprintf("%s/id/%s/%s", sim->base_url, org18, user18);
        sim_response_json(resp, 200, identity_json(sim, id_url, rec, ver));
        resp->no_limit_info = true;
        free(id_url);
    }
    cJSON_Delete(rec);
}

void sim_userinfo(struct sim *sim,
                  const struct sim_request *req,
                  struct sim_response *resp)
{
    struct sim_session_info who;
    char *id_url, updated[32];
    const char *lm;
    int64_t ms = 0;
    cJSON *rec, *o;

    if (!caller(sim, req, &who, resp))
        return;
    rec = sim_record_get(sim, "User", who.user_id);
    if (!rec) {
        refuse(resp, 403, "Bad_OAuth_Token");
        return;
    }
    id_url =
        sfc_xasprintf("%s/id/%s/%s", sim->base_url, who.org_id, who.user_id);
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "sub", id_url);
    cJSON_AddStringToObject(o, "user_id", who.user_id);
    cJSON_AddStringToObject(o, "organization_id", who.org_id);
    cJSON_AddStringToObject(o, "preferred_username", who.username);
    cJSON_AddStringToObject(o, "nickname", who.username);
    add_str_or_null(o, "name", field(rec, "Name"));
    add_str_or_null(o, "email", field(rec, "Email"));
    cJSON_AddTrueToObject(o, "email_verified");
    add_str_or_null(o, "given_name", field(rec, "FirstName"));
    add_str_or_null(o, "family_name", field(rec, "LastName"));
    cJSON_AddStringToObject(o, "zoneinfo", "America/Los_Angeles");
    cJSON_AddItemToObject(o, "photos", photos(sim, who.user_id));
    free(id_url);
    id_url = sfc_xasprintf("%s/%s", sim->base_url, who.user_id);
    cJSON_AddStringToObject(o, "profile", id_url);
    cJSON_AddItemToObject(o, "address", cJSON_CreateObject());
    cJSON_AddFalseToObject(o, "is_salesforce_integration_user");
    add_tail(o, urls(sim, who.user_id, "{version}"));
    /* OpenID Connect dates end in Z, not in REST's +0000. */
    lm = field(rec, "LastModifiedDate");
    if (lm && sim_parse_datetime(lm, &ms)) {
        sim_format_datetime_z(ms, updated);
        cJSON_AddStringToObject(o, "updated_at", updated);
    }
    cJSON_AddTrueToObject(o, "is_app_installed");
    sim_response_json(resp, 200, o);
    resp->no_limit_info = true;
    free(id_url);
    cJSON_Delete(rec);
}
