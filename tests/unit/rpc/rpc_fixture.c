/* The api client of rpc_fixture.h. */
#include <stdio.h>

#include "rpc_fixture.h"

struct sfc_api_client *rpc_fixture_api(void (*on_request)(void *opaque,
                                                          const char *method,
                                                          const char *path))
{
    struct sfc_api_options o;
    struct sfc_api_client *c;
    char err[256];

    sfc_api_options_init(&o);
    o.auth = SFC_API_AUTH_TOKEN;
    o.instance_url = "http://127.0.0.1:1";
    o.access_token = "00Dunit!token";
    o.api_version = "60.0";
    o.max_retries = 0;
    o.connect_timeout_ms = 2000;
    o.hooks.on_request = on_request;
    c = sfc_api_client_new(&o, err, sizeof(err));
    if (!c)
        fprintf(stderr, "rpc_fixture_api: %s\n", err);
    return c;
}
