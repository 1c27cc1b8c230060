#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api_fixture.h"

int apifix_sim(struct sfsim_proc *sim, const char *const *args)
{
    return sfsim_start(sim, args);
}

void apifix_options(const struct sfsim_proc *sim,
                    enum sfc_api_auth auth,
                    struct sfc_api_options *o)
{
    sfc_api_options_init(o);
    o->auth = auth;
    o->login_url = sim->url;
    o->username = "demo@sfsim.local";
    o->password = "demo-password";
    o->security_token = "DEMOTOKEN";
    o->client_id = "sfsim-client-id";
    o->client_secret = "sfsim-client-secret";
    o->refresh_token = "sfsim-refresh-token";
    o->retry_base_ms = 20;
    o->retry_max_ms = 200;
    o->request_timeout_ms = 20000;
}

struct sfc_api_client *apifix_client(const struct sfsim_proc *sim,
                                     enum sfc_api_auth auth)
{
    struct sfc_api_options o;
    char err[256];
    struct sfc_api_client *c;

    apifix_options(sim, auth, &o);
    c = sfc_api_client_new(&o, err, sizeof(err));
    if (!c)
        fail_msg("client: %s", err);
    return c;
}

int64_t apifix_counter(const struct sfsim_proc *sim, const char *name)
{
    char *body = NULL;
    cJSON *root, *counters, *v;
    int64_t n = 0;

    assert_int_equal(sfsim_control(sim, "/_sim/stats", NULL, &body), 200);
    root = cJSON_Parse(body);
    counters = cJSON_GetObjectItem(root, "counters");
    v = cJSON_GetObjectItem(counters, name);
    if (cJSON_IsNumber(v))
        n = (int64_t)v->valuedouble;
    cJSON_Delete(root);
    free(body);
    return n;
}

void apifix_fault(const struct sfsim_proc *sim, const char *json)
{
    char *body = NULL;
    long st = sfsim_control(sim, "/_sim/fault", json, &body);

    if (st != 200)
        fail_msg("fault %s refused (%ld): %s", json, st, body);
    free(body);
}
