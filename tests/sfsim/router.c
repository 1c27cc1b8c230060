/*
 * router.c - maps a request path to its handler: OAuth, identity, SOAP,
 * Bayeux, versions, and the authenticated REST data API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rest.h"
#include "sfc/common.h"

static bool prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

void rest_dispatch(struct rest_ctx *c)
{
    const char *r = c->rest;

    if (!*r || strcmp(r, "/") == 0)
        rest_resources(c);
    else if (strcmp(r, "/limits") == 0 || strcmp(r, "/limits/") == 0)
        rest_limits(c);
    else if (strcmp(r, "/sobjects") == 0 || strcmp(r, "/sobjects/") == 0)
        rest_global_describe(c);
    else if (prefix(r, "/sobjects/"))
        rest_sobject(c, r + 10);
    else if (strcmp(r, "/query") == 0 || strcmp(r, "/query/") == 0)
        rest_query(c, false, NULL);
    else if (strcmp(r, "/queryAll") == 0 || strcmp(r, "/queryAll/") == 0)
        rest_query(c, true, NULL);
    else if (prefix(r, "/query/"))
        rest_query(c, false, r + 7);
    else if (prefix(r, "/queryAll/"))
        rest_query(c, true, r + 10);
    else if (strcmp(r, "/composite") == 0 || strcmp(r, "/composite/") == 0)
        rest_composite(c);
    else if (strcmp(r, "/composite/batch") == 0)
        rest_composite_batch(c);
    else if (strcmp(r, "/composite/sobjects") == 0 ||
             prefix(r, "/composite/sobjects/"))
        rest_collections(c, r + 19);
    else
        rest_not_found(c);
}

static void data_api(struct sim *sim,
                     const struct sim_request *req,
                     struct sim_response *resp)
{
    struct rest_ctx c;
    const char *seg = req->path + 15; /* after "/services/data/" */
    const char *slash = strchr(seg, '/');
    double v = 0;

    memset(&c, 0, sizeof(c));
    c.sim = sim;
    c.req = req;
    c.resp = resp;
    if (!sim_parse_version(seg, &v) ||
        (size_t)(slash ? slash - seg : (long)strlen(seg)) > 10) {
        sim_response_error(resp, 404, "NOT_FOUND",
                           "The requested resource does not exist", false);
        return;
    }
    if (v < sim->opt.min_api_version || v > sim->opt.max_api_version) {
        sim_response_error(resp, v < sim->opt.min_api_version ? 410 : 404,
                           v < sim->opt.min_api_version ? "GONE" : "NOT_FOUND",
                           v < sim->opt.min_api_version
                               ? "The requested resource is no longer "
                                 "available. This API version has been "
                                 "retired."
                               : "The requested resource does not exist",
                           false);
        return;
    }
    c.vnum = v;
    if (v <= 40.0)
        sim_response_add_header(resp, "Warning",
                                "299 - \"This API is deprecated and will be "
                                "removed by Summer '28. Please see "
                                "https://help.salesforce.com/articleView?id="
                                "000354473 for details.\"");
    snprintf(c.version, sizeof(c.version), "%.1f", v);
    c.rest = slash ? slash : "";
    if (!sim_auth_check(sim, req->authorization, &c.who, resp))
        return;
    snprintf(c.tx, sizeof(c.tx), "tx%lld",
             (long long)atomic_fetch_add(&sim->tx_counter, 1));
    rest_dispatch(&c);
}

void sim_route(struct sim *sim,
               const struct sim_request *req,
               struct sim_response *resp)
{
    const char *p = req->path;

    if (strcmp(p, "/services/oauth2/token") == 0)
        sim_oauth_token(sim, req, resp);
    else if (strcmp(p, "/services/oauth2/revoke") == 0)
        sim_oauth_revoke(sim, req, resp);
    else if (strcmp(p, "/services/oauth2/userinfo") == 0)
        sim_userinfo(sim, req, resp);
    else if (prefix(p, "/id/"))
        sim_identity(sim, req, resp);
    else if (prefix(p, "/services/Soap/u/") || prefix(p, "/services/Soap/c/"))
        sim_soap(sim, req, resp);
    else if (prefix(p, "/cometd/") || strcmp(p, "/cometd") == 0)
        sim_stream_handle(sim->stream, req, resp);
    else if (strcmp(p, "/services/data") == 0 ||
             strcmp(p, "/services/data/") == 0)
        rest_versions(sim, resp);
    else if (prefix(p, "/services/data/v"))
        data_api(sim, req, resp);
    else
        sim_response_error(resp, 404, "NOT_FOUND",
                           "The requested resource does not exist", false);
}
