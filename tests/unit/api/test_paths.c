/*
 * unit_api_paths: REST paths made of escaped segments, Salesforce's record
 * ids and API names, and operations that refuse a value before any
 * request (counted through the client's hooks; the instance refuses
 * connections).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api_int.h"

static void path_of(const char *const *segs,
                    size_t n,
                    const struct sfc_api_param *q,
                    size_t nq,
                    const char *want)
{
    struct sfc_api_error *e = NULL;
    char *path = NULL;

    assert_int_equal(api_path_new(segs, n, q, nq, &path, &e), SFC_OK);
    assert_string_equal(path, want);
    free(path);
}

static void refused(const char *const *segs, size_t n)
{
    struct sfc_api_error *e = NULL;
    char *path = NULL;

    assert_int_equal(api_path_new(segs, n, NULL, 0, &path, &e),
                     SFC_ERR_INVALID_ARG);
    assert_null(path);
    assert_non_null(strstr(e->message, "cannot be a path segment"));
    sfc_api_error_destroy(e);
}

static void segments_are_escaped(void **state)
{
    const char *plain[] = {"sobjects", "Contact", "0035g0000000001AAA"};
    const char *hostile[] = {"sobjects", "Contact", "Email", "../Account"};
    const char *odd[] = {"a/b?c#d%2F e", "Ünï"};
    const char *dot[] = {"sobjects", "."}, *dotdot[] = {"sobjects", ".."};
    const char *empty[] = {"sobjects", ""};
    struct sfc_api_param q[] = {{"q", "SELECT Id FROM Contact WHERE a='&b'"},
                                {"skip", NULL},
                                {"fields", "A,B"}};

    (void)state;
    path_of(plain, 3, NULL, 0, "sobjects/Contact/0035g0000000001AAA");
    path_of(hostile, 4, NULL, 0, "sobjects/Contact/Email/..%2FAccount");
    path_of(odd, 2, NULL, 0, "a%2Fb%3Fc%23d%252F%20e/%C3%9Cn%C3%AF");
    path_of(plain, 1, q, 3,
            "sobjects?q=SELECT%20Id%20FROM%20Contact%20WHERE%20a%3D%27%26b%27"
            "&fields=A%2CB");
    refused(dot, 2);
    refused(dotdot, 2);
    refused(empty, 2);
}

static void ids_and_names(void **state)
{
    static const char *const ids[] = {"003000000000001", "0035g0000000001AAA",
                                      NULL};
    static const char *const not_ids[] = {"..",
                                          "",
                                          "003",
                                          "0035g0000000001AA",
                                          "0035g0000000001AAAA",
                                          "0035g000000000/AAA",
                                          "0035g0000000001AA\xc3\x9c",
                                          NULL};
    static const char *const names[] = {"Account",
                                        "Invoice__c",
                                        "ns__Invoice__c",
                                        "Geo__latitude__s",
                                        "ns__Geo__latitude__s",
                                        "My_Field_2__c",
                                        "AccountChangeEvent",
                                        NULL};
    static const char *const not_names[] = {
        "",         "..",       "../Account",  "Account/x", "_Account",
        "2Account", "Account_", "Invoice___c", "Invoice__", "a__b__c__d__e",
        "Acc ount", "Accöunt",  "Account?",    NULL};

    (void)state;
    for (const char *const *s = ids; *s; s++)
        assert_true(sfc_api_id_valid(*s));
    for (const char *const *s = not_ids; *s; s++)
        if (sfc_api_id_valid(*s))
            fail_msg("%s taken for an id", *s);
    assert_false(sfc_api_id_valid(NULL));
    for (const char *const *s = names; *s; s++)
        if (!sfc_api_name_valid(*s))
            fail_msg("%s refused as a name", *s);
    for (const char *const *s = not_names; *s; s++)
        if (sfc_api_name_valid(*s))
            fail_msg("%s taken for a name", *s);
    assert_false(sfc_api_name_valid(NULL));
}

static int requests;

static void on_request(void *opaque, const char *method, const char *path)
{
    (void)opaque;
    (void)method;
    (void)path;
    requests++;
}

static void bad_values_make_no_request(void **state)
{
    struct sfc_api_options o;
    struct sfc_api_client *c;
    struct sfc_api_error *e = NULL;
    cJSON *body = cJSON_CreateObject(), *res = NULL;
    char err[128];

    (void)state;
    sfc_api_options_init(&o);
    o.auth = SFC_API_AUTH_TOKEN;
    o.instance_url = "http://127.0.0.1:1";
    o.access_token = "00Dunit!token";
    o.api_version = "60.0";
    o.max_retries = 0;
    o.hooks.on_request = on_request;
    c = sfc_api_client_new(&o, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(sfc_api_get(c, "Contact", "..", NULL, &res, &e),
                     SFC_ERR_INVALID_ARG);
    assert_non_null(strstr(e->message, "record id"));
    sfc_api_error_destroy(e);
    assert_int_equal(
        sfc_api_update(c, "../Account", "0035g0000000001AAA", body, NULL),
        SFC_ERR_INVALID_ARG);
    assert_int_equal(
        sfc_api_upsert(c, "Contact", "../Account", "x", body, NULL, NULL, NULL),
        SFC_ERR_INVALID_ARG);
    assert_int_equal(
        sfc_api_upsert(c, "Contact", "Email", "..", body, NULL, NULL, NULL),
        SFC_ERR_INVALID_ARG);
    assert_int_equal(sfc_api_get(c, "Contact", "0035g0000000001AAA",
                                 "Name,Owner.Username", &res, NULL),
                     SFC_ERR_INVALID_ARG);
    assert_int_equal(sfc_api_delete(c, "Contact", "003' OR 1=1", NULL),
                     SFC_ERR_INVALID_ARG);
    assert_int_equal(sfc_api_describe(c, "", &res, NULL), SFC_ERR_INVALID_ARG);
    assert_int_equal(requests, 0);
    /* A value that is fine goes out, escaped. */
    assert_int_equal(
        sfc_api_upsert(c, "Contact", "Email", "a/b", body, NULL, NULL, NULL),
        SFC_ERR_TRANSPORT);
    assert_int_equal(requests, 1);
    cJSON_Delete(body);
    sfc_api_client_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(segments_are_escaped),
        cmocka_unit_test(ids_and_names),
        cmocka_unit_test(bad_values_make_no_request),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
