/*
 * unit_rpc_logic: the RPC logic with no broker and no Salesforce: CPython's
 * argument binding and its wording, Nameko's reply and error shapes, the
 * requests refused before any REST call (unknown method, malformed body,
 * allowlist), and coalescing of creates gathering concurrent callers into
 * one request (to an address that refuses connections, so every caller
 * gets the same transport error).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rpc_fixture.h"
#include "sfc/rpc.h"

static struct sfc_api_client *api_new(void)
{
    struct sfc_api_client *c = rpc_fixture_api(NULL);

    assert_non_null(c);
    return c;
}

static cJSON *handle(struct sfc_rpc *r, const char *key, const char *body)
{
    bool is_error = false;
    struct sfc_rpc_request req = {key, strlen(key), "application/json",
                                  16,  body,        strlen(body)};
    char *reply = sfc_rpc_handle(r, &req, &is_error);
    cJSON *j = cJSON_Parse(reply);

    assert_non_null(j);
    assert_true(is_error == !cJSON_IsNull(cJSON_GetObjectItem(j, "error")));
    free(reply);
    return j;
}

static const char *exc(const cJSON *reply, const char *field)
{
    const cJSON *v =
        cJSON_GetObjectItem(cJSON_GetObjectItem(reply, "error"), field);

    return cJSON_IsString(v) ? v->valuestring : "";
}

static void bind_as_cpython(void **state)
{
    static const char *const params[] = {"sobject", "record_id", "fields"};
    const cJSON *out[3];
    char err[256];
    cJSON *args = cJSON_Parse("[\"Contact\"]");
    cJSON *kw = cJSON_Parse("{\"record_id\":\"003\"}");
    cJSON *many = cJSON_Parse("[1,2,3,4]");
    cJSON *none = cJSON_CreateArray(), *nokw = cJSON_CreateObject();
    cJSON *dup = cJSON_Parse("{\"sobject\":\"X\"}");
    cJSON *odd = cJSON_Parse("{\"colour\":1}");

    (void)state;
    assert_true(
        sfc_rpc_bind("get", params, 3, 2, args, kw, out, err, sizeof(err)));
    assert_string_equal(out[0]->valuestring, "Contact");
    assert_string_equal(out[1]->valuestring, "003");
    assert_null(out[2]);

    assert_false(
        sfc_rpc_bind("get", params, 3, 2, none, nokw, out, err, sizeof(err)));
    assert_string_equal(err, "get() missing 2 required positional arguments: "
                             "'sobject' and 'record_id'");
    assert_false(
        sfc_rpc_bind("get", params, 3, 2, args, nokw, out, err, sizeof(err)));
    assert_string_equal(err, "get() missing 1 required positional argument: "
                             "'record_id'");
    assert_false(
        sfc_rpc_bind("get", params, 3, 2, many, nokw, out, err, sizeof(err)));
    assert_string_equal(err, "get() takes from 3 to 4 positional arguments "
                             "but 5 were given");
    assert_false(
        sfc_rpc_bind("get", params, 3, 3, many, nokw, out, err, sizeof(err)));
    assert_string_equal(err,
                        "get() takes 4 positional arguments but 5 were given");
    assert_false(
        sfc_rpc_bind("get", params, 3, 2, args, dup, out, err, sizeof(err)));
    assert_string_equal(err, "get() got multiple values for argument "
                             "'sobject'");
    assert_false(
        sfc_rpc_bind("get", params, 3, 2, args, odd, out, err, sizeof(err)));
    assert_string_equal(err, "get() got an unexpected keyword argument "
                             "'colour'");
    cJSON_Delete(args);
    cJSON_Delete(kw);
    cJSON_Delete(many);
    cJSON_Delete(none);
    cJSON_Delete(nokw);
    cJSON_Delete(dup);
    cJSON_Delete(odd);
}

static void reply_and_error_shapes(void **state)
{
    char *text = sfc_rpc_reply(
        NULL, sfc_rpc_error("MethodNotFound",
                            "nameko.exceptions.MethodNotFound", "frob"));

    (void)state;
    assert_string_equal(text, "{\"result\":null,\"error\":{\"exc_type\":"
                              "\"MethodNotFound\",\"exc_path\":\"nameko."
                              "exceptions.MethodNotFound\",\"exc_args\":"
                              "[\"frob\"],\"value\":\"frob\"}}");
    free(text);
    text = sfc_rpc_reply(cJSON_CreateNumber(204), NULL);
    assert_string_equal(text, "{\"result\":204,\"error\":null}");
    free(text);
}

static void refused_before_any_call(void **state)
{
    static const char *const sobjects[] = {"Contact"};
    struct sfc_api_client *api = api_new();
    struct sfc_rpc_options o;
    struct sfc_rpc *r;
    char err[256];
    cJSON *j;

    (void)state;
    sfc_rpc_options_init(&o);
    o.service = "salesforce";
    o.allow_sobjects = sobjects;
    o.n_allow_sobjects = 1;
    r = sfc_rpc_new(&o, api, err, sizeof(err));
    assert_non_null(r);

    j = handle(r, "salesforce.frobnicate", "{\"args\":[],\"kwargs\":{}}");
    assert_string_equal(exc(j, "exc_type"), "MethodNotFound");
    assert_string_equal(exc(j, "value"), "frobnicate");
    cJSON_Delete(j);
    j = handle(r, "salesforce.create", "{\"args\": [");
    assert_string_equal(exc(j, "exc_type"), "MalformedRequest");
    cJSON_Delete(j);
    j = handle(r, "salesforce.create", "{\"args\": []}");
    assert_string_equal(exc(j, "value"), "Message missing `args` or `kwargs`");
    cJSON_Delete(j);
    j = handle(r, "salesforce.create",
               "{\"args\":[\"Lead\",{\"LastName\":\"X\"}],\"kwargs\":{}}");
    assert_string_equal(exc(j, "exc_type"), "NotAllowed");
    cJSON_Delete(j);
    j = handle(r, "salesforce.create",
               "{\"args\":[\"Contact\"],\"kwargs\":{}}");
    assert_string_equal(exc(j, "exc_type"), "IncorrectSignature");
    assert_string_equal(exc(j, "value"), "create() missing 1 required "
                                         "positional argument: 'data'");
    cJSON_Delete(j);
    /* Allowed and well formed: it reaches for Salesforce, which is not
     * there, and says so. */
    j = handle(r, "salesforce.create",
               "{\"args\":[\"Contact\",{\"LastName\":\"X\"}],\"kwargs\":{}}");
    assert_string_equal(exc(j, "exc_type"), "SalesforceConnectionError");
    assert_null(strstr(exc(j, "value"), "00Dunit!token"));
    cJSON_Delete(j);
    sfc_rpc_destroy(r);
    sfc_api_client_destroy(api);
}

struct caller {
    struct sfc_rpc *r;
    const char *sobject;
    cJSON *reply;
};

static void *call_create(void *arg)
{
    struct caller *c = arg;
    char body[160];

    snprintf(body, sizeof(body),
             "{\"args\":[\"%s\",{\"Name\":\"N\"}],\"kwargs\":{}}", c->sobject);
    c->reply = handle(c->r, "salesforce.create", body);
    return NULL;
}

static void coalescing_gathers_callers(void **state)
{
    enum { N = 6 };
    struct sfc_api_client *api = api_new();
    struct sfc_rpc_options o;
    struct sfc_rpc *r;
    struct caller c[N];
    pthread_t t[N];
    uint64_t creates, requests;
    char err[256];

    (void)state;
    sfc_rpc_options_init(&o);
    o.coalesce_window_ms = 500;
    r = sfc_rpc_new(&o, api, err, sizeof(err));
    assert_non_null(r);
    /* Four Contacts and two Accounts: two batches. */
    for (int i = 0; i < N; i++) {
        c[i].r = r;
        c[i].sobject = i < 4 ? "Contact" : "Account";
        pthread_create(&t[i], NULL, call_create, &c[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_string_equal(exc(c[i].reply, "exc_type"),
                            "SalesforceConnectionError");
        cJSON_Delete(c[i].reply);
    }
    sfc_rpc_coalesce_stats(r, &creates, &requests);
    assert_int_equal(creates, N);
    assert_int_equal(requests, 2);
    sfc_rpc_destroy(r);
    sfc_api_client_destroy(api);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bind_as_cpython),
        cmocka_unit_test(reply_and_error_shapes),
        cmocka_unit_test(refused_before_any_call),
        cmocka_unit_test(coalescing_gathers_callers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
