/*
 * What nameko-salesforce puts on the Salesforce side, and sfconnector the
 * same: a PushTopic's ApiVersion is the API version in use, sent as a JSON
 * string ("52.0"); handle_sobject_notification's query leaves out the
 * connector's own user by default (exclude_current_user = true), a static
 * token's user is learnt from /services/oauth2/userinfo, and when it cannot
 * be learnt the declaration is refused, never made without the condition.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <curl/curl.h>

#include "config.h"
#include "sfc/api.h"
#include "sfc/streaming.h"
#include "testutil.h"

static struct sfsim_proc sim;
static char user_id[19];

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The demo user's OAuth token; fills user_id from the identity URL. */
static char *oauth_token(void)
{
    char url[300], *resp = NULL, *tok;
    const char *id;
    cJSON *j;

    snprintf(url, sizeof(url), "%s/services/oauth2/token", sim.url);
    assert_int_equal(
        tu_http("POST", url, NULL,
                "grant_type=password&client_id=sfsim-client-id&client_secret="
                "sfsim-client-secret&username=demo@sfsim.local&password="
                "demo-passwordDEMOTOKEN",
                &resp),
        200);
    j = cJSON_Parse(resp);
    tok = sfc_xstrdup(str(j, "access_token"));
    id = strrchr(str(j, "id"), '/');
    snprintf(user_id, sizeof(user_id), "%s", id + 1);
    cJSON_Delete(j);
    free(resp);
    return tok;
}

static int setup(void **state)
{
    char *tok;

    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sfsim_start(&sim, NULL) != 0)
        return -1;
    tok = oauth_token();
    sfc_free_secret(tok);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sfsim_stop(&sim);
    return 0;
}

static struct sfc_api_client *
client(enum sfc_api_auth auth, const char *version, const char *token)
{
    struct sfc_api_options o;
    struct sfc_api_client *c;
    char err[256];

    sfc_api_options_init(&o);
    o.auth = auth;
    o.login_url = sim.url;
    o.instance_url = sim.url;
    o.access_token = token;
    o.api_version = version;
    o.username = "demo@sfsim.local";
    o.password = "demo-password";
    o.security_token = "DEMOTOKEN";
    o.client_id = "sfsim-client-id";
    o.client_secret = "sfsim-client-secret";
    o.max_retries = 0;
    c = sfc_api_client_new(&o, err, sizeof(err));
    if (!c)
        fail_msg("client: %s", err);
    return c;
}

/* Body of the last @method request to @path in sfsim's request log. */
static char *last_body(const char *method, const char *path)
{
    char *resp = NULL, *out = NULL;
    const cJSON *e;
    cJSON *arr;

    assert_int_equal(sfsim_control(&sim, "/_sim/requests", NULL, &resp), 200);
    arr = cJSON_Parse(resp);
    cJSON_ArrayForEach(e, arr)
    {
        if (strcmp(str(e, "method"), method) == 0 &&
            strncmp(str(e, "path"), path, strlen(path)) == 0 &&
            str(e, "body")) {
            free(out);
            out = sfc_xstrdup(str(e, "body"));
        }
    }
    cJSON_Delete(arr);
    free(resp);
    assert_non_null(out);
    return out;
}

static void assert_api_version_sent(const char *method,
                                    const char *path,
                                    const char *version)
{
    char *body = last_body(method, path);
    cJSON *j = cJSON_Parse(body);

    if (!cJSON_IsString(cJSON_GetObjectItem(j, "ApiVersion")))
        fail_msg("ApiVersion not sent as a string: %s", body);
    assert_string_equal(str(j, "ApiVersion"), version);
    cJSON_Delete(j);
    free(body);
}

/* ApiVersion of PushTopic @name as sfsim stores it. */
static double stored_api_version(struct sfc_api_client *api, const char *name)
{
    char soql[200];
    cJSON *page = NULL;
    const cJSON *rec;
    double v;

    snprintf(soql, sizeof(soql),
             "SELECT Id, ApiVersion FROM PushTopic WHERE Name = '%s'", name);
    assert_int_equal(sfc_api_query(api, soql, false, &page, NULL), SFC_OK);
    rec = cJSON_GetArrayItem(cJSON_GetObjectItem(page, "records"), 0);
    v = cJSON_GetObjectItem(rec, "ApiVersion")->valuedouble;
    cJSON_Delete(page);
    return v;
}

static void test_api_version_in_use(void **state)
{
    struct sfc_api_client *api = client(SFC_API_AUTH_PASSWORD, "52.0", NULL);
    struct sfc_api_client *latest =
        client(SFC_API_AUTH_PASSWORD, "latest", NULL);
    struct sfc_api_error *e = NULL;
    (void)state;
    /* Created... */
    assert_int_equal(sfc_pushtopic_declare(api, "ParityTopic",
                                           "SELECT Id, Name FROM Contact", NULL,
                                           &e),
                     SFC_OK);
    assert_api_version_sent("POST", "/services/data/v52.0/sobjects/PushTopic",
                            "52.0");
    assert_true(stored_api_version(api, "ParityTopic") == 52.0);
    /* ...and updated by a client on the newest version. */
    assert_int_equal(sfc_pushtopic_declare(latest, "ParityTopic",
                                           "SELECT Id, Name FROM Contact", NULL,
                                           &e),
                     SFC_OK);
    assert_api_version_sent("PATCH", "/services/data/v67.0/sobjects/PushTopic/",
                            "67.0");
    assert_true(stored_api_version(api, "ParityTopic") == 67.0);
    sfc_api_client_destroy(api);
    sfc_api_client_destroy(latest);
}

static void assert_excludes_user(struct sfc_api_client *api)
{
    struct sfc_api_error *e = NULL;
    char *name = NULL, *query = NULL, *want;

    if (sfc_pushtopic_sobject_query(api, "Contact", NULL, true, &name, &query,
                                    &e) != SFC_OK)
        fail_msg("query: %s", e ? e->message : "?");
    want = sfc_xasprintf("WHERE LastModifiedById != '%s'", user_id);
    if (!strstr(query, want))
        fail_msg("%s lacks %s", query, want);
    assert_string_equal(name, "Contact");
    free(want);
    free(name);
    free(query);
}

static void test_exclude_user_oauth(void **state)
{
    struct sfc_api_client *api = client(SFC_API_AUTH_PASSWORD, "60.0", NULL);
    (void)state;
    assert_excludes_user(api);
    sfc_api_client_destroy(api);
}

static void test_exclude_user_static_token(void **state)
{
    char *tok = oauth_token();
    struct sfc_api_client *api = client(SFC_API_AUTH_TOKEN, "60.0", tok);
    char *resp = NULL;
    cJSON *j;
    double asked;
    (void)state;
    assert_excludes_user(api);
    assert_excludes_user(api); /* asked once, kept with the session */
    assert_int_equal(sfsim_control(&sim, "/_sim/stats", NULL, &resp), 200);
    j = cJSON_Parse(resp);
    asked = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "counters"),
                                "requests:GET /services/oauth2/userinfo")
                ->valuedouble;
    assert_true(asked == 1.0);
    cJSON_Delete(j);
    free(resp);
    sfc_api_client_destroy(api);
    sfc_free_secret(tok);
}

/* The user cannot be learnt: refused with the reason, no query made. */
static void test_exclude_user_refused(void **state)
{
    char *tok = oauth_token();
    struct sfc_api_client *api = client(SFC_API_AUTH_TOKEN, "60.0", tok);
    struct sfc_api_error *e = NULL;
    char *name = NULL, *query = NULL;
    (void)state;
    assert_int_equal(sfsim_control(&sim, "/_sim/fault",
                                   "{\"kind\":\"http_status\",\"status\":403,"
                                   "\"path\":\"/services/oauth2/userinfo\","
                                   "\"count\":-1}",
                                   NULL),
                     200);
    assert_int_not_equal(sfc_pushtopic_sobject_query(api, "Contact", NULL, true,
                                                     &name, &query, &e),
                         SFC_OK);
    assert_null(query);
    assert_non_null(e);
    print_message("refused: %s\n", e->message);
    if (!strstr(e->message, "exclude_current_user") ||
        !strstr(e->message, "userinfo"))
        fail_msg("unclear refusal: %s", e->message);
    assert_null(strstr(e->message, tok)); /* never the token */
    sfc_api_error_destroy(e);
    /* Without the condition nothing needs the user. */
    assert_int_equal(sfc_pushtopic_sobject_query(api, "Contact", NULL, false,
                                                 &name, &query, NULL),
                     SFC_OK);
    assert_null(strstr(query, "LastModifiedById !="));
    free(name);
    free(query);
    {
        char url[300];

        snprintf(url, sizeof(url), "%s/_sim/fault", sim.url);
        assert_int_equal(tu_http("DELETE", url, NULL, NULL, NULL), 200);
    }
    sfc_api_client_destroy(api);
    sfc_free_secret(tok);
}

/* handle_sobject_notification leaves the connector's own changes out
 * unless told otherwise, as nameko-salesforce does. */
static void test_config_default(void **state)
{
    static const char TEXT[] =
        "salesforce = { username = \"u@example.com\"; password = \"pw\";"
        " client_id = \"cid\"; client_secret = \"cs\"; };\n"
        "streaming = { entrypoints = ("
        "{ kind = \"handle_sobject_notification\"; sobject_type = "
        "\"Contact\"; },"
        "{ kind = \"handle_sobject_notification\"; sobject_type = \"Lead\";"
        " exclude_current_user = false; }); };\n";
    char dir[256], path[300], err[4096];
    struct sfc_config *cfg;
    FILE *f;
    (void)state;
    assert_int_equal(tu_tmpdir(dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/c.conf", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(TEXT, f);
    fclose(f);
    cfg = sfc_config_load(path, err, sizeof(err));
    if (!cfg)
        fail_msg("%s", err);
    assert_int_equal(cfg->streaming.n_entrypoints, 2);
    assert_true(cfg->streaming.entrypoints[0].exclude_current_user);
    assert_false(cfg->streaming.entrypoints[1].exclude_current_user);
    sfc_config_destroy(cfg);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_version_in_use),
        cmocka_unit_test(test_exclude_user_oauth),
        cmocka_unit_test(test_exclude_user_static_token),
        cmocka_unit_test(test_exclude_user_refused),
        cmocka_unit_test(test_config_default),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
