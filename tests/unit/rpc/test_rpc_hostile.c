/*
 * unit_rpc_hostile: requests a hostile or careless caller sends, answered
 * without a crash, without reading past what was sent, and without a REST
 * call outside the allowlist. The api client points at an address that
 * refuses connections and counts (with its hooks) every request it would
 * send, so "no Salesforce call" is asserted, not assumed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rpc_fixture.h"
#include "sfc/rpc.h"

static atomic_int n_requests;
static char last_path[512];

static void on_request(void *opaque, const char *method, const char *path)
{
    (void)opaque;
    (void)method;
    atomic_fetch_add(&n_requests, 1);
    snprintf(last_path, sizeof(last_path), "%s", path);
}

static struct sfc_api_client *api_new(void)
{
    struct sfc_api_client *c = rpc_fixture_api(on_request);

    assert_non_null(c);
    return c;
}

struct fixture {
    struct sfc_api_client *api;
    struct sfc_rpc *rpc;
};

static int setup(void **state)
{
    static const char *const sobjects[] = {"Contact"};
    static const char *const fields[] = {"soql"};
    static const struct sfc_rpc_named_method named[] = {
        {.name = "find",
         .op = SFC_RPC_QUERY,
         .sobject = NULL,
         .fields = fields,
         .n_fields = 1},
    };
    struct fixture *f = calloc(1, sizeof(*f));
    struct sfc_rpc_options o;
    char err[256];

    f->api = api_new();
    sfc_rpc_options_init(&o);
    o.allow_sobjects = sobjects;
    o.n_allow_sobjects = 1;
    o.methods = named;
    o.n_methods = 1;
    f->rpc = sfc_rpc_new(&o, f->api, err, sizeof(err));
    assert_non_null(f->rpc);
    atomic_store(&n_requests, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    sfc_rpc_destroy(f->rpc);
    sfc_api_client_destroy(f->api);
    free(f);
    return 0;
}

/* The reply to @len bytes of @body on salesforce.@method, parsed. */
static cJSON *
call_len(struct fixture *f, const char *method, const char *body, size_t len)
{
    char key[128];
    bool is_error = false;
    char *reply;
    cJSON *j;
    struct sfc_rpc_request req = {.routing_key = key,
                                  .content_type = "application/json",
                                  .content_type_len = 16,
                                  .body = body,
                                  .body_len = len};

    snprintf(key, sizeof(key), "salesforce.%s", method);
    req.routing_key_len = strlen(key);
    reply = sfc_rpc_handle(f->rpc, &req, &is_error);
    j = cJSON_Parse(reply);
    assert_non_null(j);
    free(reply);
    return j;
}

static cJSON *call(struct fixture *f, const char *method, const char *body)
{
    return call_len(f, method, body, strlen(body));
}

static const char *exc(const cJSON *reply, const char *field)
{
    const cJSON *v =
        cJSON_GetObjectItem(cJSON_GetObjectItem(reply, "error"), field);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The exc_type of the reply to @body, with the reply freed. */
static void expect(struct fixture *f,
                   const char *method,
                   const char *body,
                   const char *exc_type)
{
    cJSON *j = call(f, method, body);

    if (strcmp(exc(j, "exc_type"), exc_type) != 0)
        fail_msg("%s %s: got %s (%s), expected %s", method, body,
                 exc(j, "exc_type"), exc(j, "value"), exc_type);
    cJSON_Delete(j);
}

/*
 * Leaves pointer-shaped garbage on the stack below the caller, as a
 * worker's earlier calls do: a read of an argument slot nobody set then
 * dereferences an unmapped address.
 */
static __attribute__((noinline)) void dirty_stack(void)
{
    volatile uintptr_t junk[8192];

    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        junk[i] = (uintptr_t)0x1000;
}

/* limits() has no parameters: nothing may read an argument for it. */
static void limits_reads_no_argument(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < 3; i++) {
        cJSON *j;

        dirty_stack();
        j = call(f, "limits", "{\"args\":[],\"kwargs\":{}}");
        assert_string_equal(exc(j, "exc_type"), "SalesforceConnectionError");
        cJSON_Delete(j);
    }
    assert_int_equal(atomic_load(&n_requests), 3);
}

/* A body is its bytes, all of them: a NUL ends nothing. */
static void body_with_nul_is_malformed(void **state)
{
    static const char body[] = "{\"args\":[],\"kwargs\":{}}\0{\"x\":1}";
    static const char inner[] = "{\"args\":[\"Contact\0\"],\"kwargs\":{}}";
    struct fixture *f = *state;
    cJSON *j = call_len(f, "limits", body, sizeof(body) - 1);

    assert_string_equal(exc(j, "exc_type"), "MalformedRequest");
    cJSON_Delete(j);
    j = call_len(f, "describe", inner, sizeof(inner) - 1);
    assert_string_equal(exc(j, "exc_type"), "MalformedRequest");
    cJSON_Delete(j);
    /* An escaped NUL would be cut off by every C string after it. */
    expect(f, "describe",
           "{\"args\":[\"Contact\\u0000Account\"],\"kwargs\":{}}",
           "MalformedRequest");
    assert_int_equal(atomic_load(&n_requests), 0);
}

/* Invalid UTF-8 never reaches Salesforce. */
static void invalid_utf8_is_malformed(void **state)
{
    struct fixture *f = *state;

    expect(f, "create",
           "{\"args\":[\"Contact\",{\"LastName\":\"Ba\xff\xfelboa\"}],"
           "\"kwargs\":{}}",
           "MalformedRequest");
    expect(f, "create",
           "{\"args\":[\"Contact\",{\"LastName\":\"\xed\xa0\x80\"}],"
           "\"kwargs\":{}}",
           "MalformedRequest");
    /* Bytes after the object are not ignored either. */
    expect(f, "limits", "{\"args\":[],\"kwargs\":{}} trailing",
           "MalformedRequest");
    assert_int_equal(atomic_load(&n_requests), 0);
}

/* A query reads only what the allowlist allows. */
static void query_reads_only_allowed_objects(void **state)
{
    struct fixture *f = *state;

    expect(f, "query",
           "{\"args\":[\"SELECT Id, Username FROM User\"],\"kwargs\":{}}",
           "NotAllowed");
    expect(f, "query_all",
           "{\"args\":[\"SELECT Id, Username FROM User\"],\"kwargs\":{}}",
           "NotAllowed");
    expect(f, "find",
           "{\"args\":[\"SELECT Id, Username FROM User\"],\"kwargs\":{}}",
           "NotAllowed");
    expect(f, "query",
           "{\"args\":[\"SELECT Id FROM Contact WHERE OwnerId IN "
           "(SELECT Id FROM User)\"],\"kwargs\":{}}",
           "NotAllowed");
    assert_int_equal(atomic_load(&n_requests), 0);
    /* The allowed object goes through. */
    expect(f, "query", "{\"args\":[\"SELECT Id FROM Contact\"],\"kwargs\":{}}",
           "SalesforceConnectionError");
    assert_int_equal(atomic_load(&n_requests), 1);
}

/* upsert's external id field is one path segment, and a field name. */
static void upsert_field_is_a_field(void **state)
{
    struct fixture *f = *state;

    expect(f, "upsert",
           "{\"args\":[\"Contact\",\"../Account\",\"001000000000001AAA\","
           "{\"Name\":\"X\"}],\"kwargs\":{}}",
           "ValueError");
    expect(f, "upsert",
           "{\"args\":[\"Contact\",\"Email/../../Account\",\"x\","
           "{\"Name\":\"X\"}],\"kwargs\":{}}",
           "ValueError");
    assert_int_equal(atomic_load(&n_requests), 0);
}

/* A record id is an id: ".." is not one. */
static void get_dotdot_is_not_an_id(void **state)
{
    struct fixture *f = *state;

    expect(f, "get", "{\"args\":[\"Contact\",\"..\"],\"kwargs\":{}}",
           "ValueError");
    expect(f, "delete", "{\"args\":[\"Contact\",\"..\"],\"kwargs\":{}}",
           "ValueError");
    expect(f, "update",
           "{\"args\":[\"Contact\",\"../../sobjects/Account/"
           "001000000000001\",{}],\"kwargs\":{}}",
           "ValueError");
    assert_int_equal(atomic_load(&n_requests), 0);
}

/* CPython's words: "1 positional argument", singular. */
static void cpython_wording(void **state)
{
    struct fixture *f = *state;
    cJSON *j = call(f, "limits", "{\"args\":[1],\"kwargs\":{}}");

    assert_string_equal(exc(j, "exc_type"), "IncorrectSignature");
    assert_string_equal(exc(j, "value"),
                        "limits() takes 1 positional argument but 2 were "
                        "given");
    cJSON_Delete(j);
    /* Keyword errors come before the count, as inspect.getcallargs. */
    j = call(f, "describe", "{\"args\":[1,2],\"kwargs\":{\"x\":1}}");
    assert_string_equal(exc(j, "value"),
                        "describe() got an unexpected keyword argument 'x'");
    cJSON_Delete(j);
    assert_int_equal(atomic_load(&n_requests), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(limits_reads_no_argument, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(body_with_nul_is_malformed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(invalid_utf8_is_malformed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(query_reads_only_allowed_objects, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(upsert_field_is_a_field, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(get_dotdot_is_not_an_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(cpython_wording, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
