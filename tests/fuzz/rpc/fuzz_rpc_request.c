/*
 * libFuzzer target for the RPC request path: a routing key, a content type
 * and a body as arbitrary bytes go through decoding, binding, the argument
 * checks and the method table (built-ins and declared methods), on a
 * responder with an allowlist and one without. Salesforce is an address
 * that refuses connections, so a call that passes every check ends in
 * SalesforceConnectionError at once.
 *
 * Every reply must be one JSON object {"result", "error"} in valid UTF-8
 * (what a Nameko caller can decode), and an error reply must carry the
 * four members Nameko reads.
 *
 * Input: byte 0 picks the responder and the content type; byte 1 picks a
 * routing key from a list, or (0xff) takes one of byte 2's length from the
 * bytes after it; the rest is the body.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "rpc_fixture.h"
#include "sfc/rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = {"salesforce.create",
                                   "salesforce.get",
                                   "salesforce.update",
                                   "salesforce.upsert",
                                   "salesforce.delete",
                                   "salesforce.query",
                                   "salesforce.query_all",
                                   "salesforce.describe",
                                   "salesforce.limits",
                                   "salesforce.create_many",
                                   "salesforce.add_contact",
                                   "salesforce.find",
                                   "salesforce.get_contact",
                                   "salesforce.touch",
                                   "salesforce.frobnicate",
                                   "other.create",
                                   "salesforce.",
                                   "",
                                   "salesforce.create.x",
                                   "salesforce..create"};

static struct sfc_api_client *api;
static struct sfc_rpc *open_rpc, *strict_rpc;

static void setup(void)
{
    static const char *const sobjects[] = {"Contact", "Account"};
    static const char *const contact_fields[] = {"LastName", "Email"};
    static const char *const soql[] = {"soql"};
    static const char *const id[] = {"Id"};
    static const char *const touch[] = {"Id", "Description"};
    static const struct sfc_rpc_named_method named[] = {
        {"add_contact", SFC_RPC_CREATE, "Contact", contact_fields, 2},
        {"find", SFC_RPC_QUERY, NULL, soql, 1},
        {"get_contact", SFC_RPC_GET, "Contact", id, 1},
        {"touch", SFC_RPC_UPDATE, "Contact", touch, 2},
    };
    struct sfc_rpc_options o;
    char err[256];

    curl_global_init(CURL_GLOBAL_ALL);
    sfc_log_configure(SFC_LOG_ERROR, SFC_LOG_TEXT, NULL);
    api = rpc_fixture_api(NULL);
    sfc_rpc_options_init(&o);
    o.request_max_bytes = 1 << 16;
    o.methods = named;
    o.n_methods = 4;
    open_rpc = sfc_rpc_new(&o, api, err, sizeof(err));
    o.allow_sobjects = sobjects;
    o.n_allow_sobjects = 2;
    strict_rpc = sfc_rpc_new(&o, api, err, sizeof(err));
    if (!api || !open_rpc || !strict_rpc) {
        fprintf(stderr, "setup: %s\n", err);
        abort();
    }
}

/* The reply is what a Nameko caller can read. */
static void check_reply(const char *reply, bool is_error)
{
    char err[128];
    cJSON *j, *e;
    static const char *const members[] = {"exc_type", "exc_path", "exc_args",
                                          "value"};

    if (!sfc_json_valid(reply, strlen(reply), err, sizeof(err))) {
        fprintf(stderr, "reply is not valid JSON: %s\n", err);
        abort();
    }
    j = cJSON_Parse(reply);
    e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (!cJSON_IsObject(j) || !cJSON_GetObjectItemCaseSensitive(j, "result") ||
        !e || is_error == cJSON_IsNull(e)) {
        fprintf(stderr, "reply is not {result, error}\n");
        abort();
    }
    for (size_t k = 0; is_error && k < 4; k++)
        if (!cJSON_GetObjectItemCaseSensitive(e, members[k])) {
            fprintf(stderr, "error without %s\n", members[k]);
            abort();
        }
    cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sfc_rpc_request req = {0};
    bool is_error = false;
    char *reply;
    size_t at = 2;

    if (!api)
        setup();
    if (size < 2)
        return 0;
    if (data[1] == 0xff) {
        size_t from = size > 2 ? 3 : size;
        size_t n = size > 2 ? data[2] : 0;

        if (n > size - from)
            n = size - from;
        req.routing_key = (const char *)data + from;
        req.routing_key_len = n;
        at = from + n;
    } else {
        req.routing_key = keys[data[1] % (sizeof(keys) / sizeof(keys[0]))];
        req.routing_key_len = strlen(req.routing_key);
    }
    if (data[0] & 2) {
        req.content_type = data[0] & 4 ? "text/plain" : "application/json";
        req.content_type_len = strlen(req.content_type);
    }
    req.body = (const char *)data + at;
    req.body_len = size - at;
    reply =
        sfc_rpc_handle(data[0] & 1 ? strict_rpc : open_rpc, &req, &is_error);
    check_reply(reply, is_error);
    free(reply);
    return 0;
}
