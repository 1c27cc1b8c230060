/* Typed JSON getters: presence, types, optional forms, bounded parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sfc/common.h"

static const char doc[] =
    "{\"Id\":\"003000000000001AAA\",\"n\":42,\"big\":1.5e300,\"half\":1.5,"
    "\"ok\":true,\"nothing\":null,\"o\":{},\"a\":[1]}";

static void required_getters(void **state)
{
    char err[128];
    cJSON *j = sfc_json_parse(doc, strlen(doc), 0, err, sizeof(err));
    const char *s = NULL;
    int64_t n = 0;
    bool b = false;
    const cJSON *node = NULL;

    (void)state;
    assert_non_null(j);
    assert_int_equal(sfc_json_get_str(j, "Id", &s, err, sizeof(err)), SFC_OK);
    assert_string_equal(s, "003000000000001AAA");
    assert_int_equal(sfc_json_get_int64(j, "n", &n, err, sizeof(err)), SFC_OK);
    assert_int_equal(n, 42);
    assert_int_equal(sfc_json_get_bool(j, "ok", &b, err, sizeof(err)), SFC_OK);
    assert_true(b);
    assert_int_equal(sfc_json_get_object(j, "o", &node, err, sizeof(err)),
                     SFC_OK);
    assert_int_equal(sfc_json_get_array(j, "a", &node, err, sizeof(err)),
                     SFC_OK);

    assert_int_equal(sfc_json_get_str(j, "missing", &s, err, sizeof(err)),
                     SFC_ERR_PARSE);
    assert_string_equal(err, "missing field \"missing\"");
    assert_int_equal(sfc_json_get_str(j, "nothing", &s, err, sizeof(err)),
                     SFC_ERR_PARSE);
    assert_int_equal(sfc_json_get_str(j, "n", &s, err, sizeof(err)),
                     SFC_ERR_PARSE);
    assert_string_equal(err, "field \"n\" must be a string, not number");
    assert_int_equal(sfc_json_get_int64(j, "half", &n, err, sizeof(err)),
                     SFC_ERR_PARSE);
    assert_int_equal(sfc_json_get_int64(j, "big", &n, err, sizeof(err)),
                     SFC_ERR_PARSE);
    assert_int_equal(sfc_json_get_array(j, "o", &node, err, sizeof(err)),
                     SFC_ERR_PARSE);
    assert_int_equal(n, 42); /* untouched on failure */
    cJSON_Delete(j);
}

static void optional_getters(void **state)
{
    char err[128];
    cJSON *j = sfc_json_parse(doc, strlen(doc), 0, err, sizeof(err));
    const char *s = "default";
    int64_t n = -1;
    bool b = false;

    (void)state;
    assert_int_equal(sfc_json_get_str_opt(j, "nothing", &s, err, sizeof(err)),
                     SFC_OK);
    assert_string_equal(s, "default");
    assert_int_equal(sfc_json_get_int64_opt(j, "absent", &n, err, sizeof(err)),
                     SFC_OK);
    assert_int_equal(n, -1);
    assert_int_equal(sfc_json_get_bool_opt(j, "n", &b, err, sizeof(err)),
                     SFC_ERR_PARSE);
    /* A non-object parent is simply "absent" for optional lookups. */
    assert_int_equal(sfc_json_get_str_opt(cJSON_GetObjectItem(j, "a"), "x", &s,
                                          err, sizeof(err)),
                     SFC_OK);
    cJSON_Delete(j);
}

static void parse_is_bounded(void **state)
{
    char err[128];
    static const char bad[] = "{\"a\": [1, 2,}";

    (void)state;
    assert_null(sfc_json_parse(doc, strlen(doc), 10, err, sizeof(err)));
    assert_non_null(strstr(err, "exceeds the 10-byte limit"));
    assert_null(sfc_json_parse(bad, strlen(bad), 0, err, sizeof(err)));
    assert_non_null(strstr(err, "invalid JSON near byte"));
    assert_null(sfc_json_parse("", 0, 0, err, sizeof(err)));
    /* Not NUL-terminated: only @len bytes are read. */
    {
        cJSON *j = sfc_json_parse("[1]garbage", 3, 0, err, sizeof(err));

        assert_non_null(j);
        assert_int_equal(cJSON_GetArraySize(j), 1);
        cJSON_Delete(j);
    }
}

/* The span of @key in @text as a string ("" when not found). */
static const char *
span_of(const char *text, const char *key, char *out, size_t size)
{
    const char *v = NULL;
    size_t n = 0;

    out[0] = '\0';
    if (sfc_json_member_span(text, strlen(text), key, &v, &n))
        snprintf(out, size, "%.*s", (int)n, v);
    return out;
}

static void member_span_is_the_value_as_written(void **state)
{
    static const char *const docs[] = {
        "{\"event\":{\"replayId\":1},\"sobject\":{\"Id\":\"x\",\"N\":"
        "123456789012345678}}",
        "{\"a\":\"}\\\",{\",\"data\":[1,{\"x\":\"]\"}],\"b\":2}",
        " { \"a\" : 12 , \"b\":true }",
        "{\"data\":1,\"data\":2}",
        "{\"x\":{\"data\":1},\"data\":\"\\u00e9\"}",
    };
    static const char *const keys[] = {"sobject", "data", "a", "data", "data"};
    char out[256];

    (void)state;
    assert_string_equal(span_of(docs[0], "sobject", out, sizeof(out)),
                        "{\"Id\":\"x\",\"N\":123456789012345678}");
    assert_string_equal(span_of(docs[1], "data", out, sizeof(out)),
                        "[1,{\"x\":\"]\"}]");
    assert_string_equal(span_of(docs[1], "b", out, sizeof(out)), "2");
    assert_string_equal(span_of(docs[2], "a", out, sizeof(out)), "12");
    assert_string_equal(span_of(docs[2], "b", out, sizeof(out)), "true");
    assert_string_equal(span_of(docs[3], "data", out, sizeof(out)), "1");
    /* Only the top level counts. */
    assert_string_equal(span_of(docs[4], "data", out, sizeof(out)),
                        "\"\\u00e9\"");
    /* The same member cJSON finds, whatever the document. */
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        cJSON *whole = cJSON_Parse(docs[i]);
        cJSON *part = cJSON_Parse(span_of(docs[i], keys[i], out, sizeof(out)));

        assert_non_null(part);
        assert_true(cJSON_Compare(
            cJSON_GetObjectItemCaseSensitive(whole, keys[i]), part, true));
        cJSON_Delete(whole);
        cJSON_Delete(part);
    }
}

static void member_span_refuses_what_it_cannot_decide(void **state)
{
    char out[64];

    (void)state;
    assert_string_equal(span_of("{\"a\":1}", "b", out, sizeof(out)), "");
    assert_string_equal(span_of("[{\"a\":1}]", "a", out, sizeof(out)), "");
    assert_string_equal(span_of("{\"x\":{\"a\":1}}", "a", out, sizeof(out)),
                        "");
    /* A key with escapes may decode to the one asked for. */
    assert_string_equal(
        span_of("{\"\\u0061\":1,\"a\":2}", "a", out, sizeof(out)), "");
    /* Control bytes JSON does not allow: in a key, in a value. */
    assert_false(sfc_json_member_span("{\"a\0b\":1,\"a\":2}", 15, "a",
                                      &(const char *){NULL}, &(size_t){0}));
    assert_string_equal(span_of("{\"a\":\"x\001y\"}", "a", out, sizeof(out)),
                        "");
    assert_string_equal(span_of("{\"a\":[1,\0012]}", "a", out, sizeof(out)),
                        "");
    assert_string_equal(span_of("{\"a\":[1,\n\t2]}", "a", out, sizeof(out)),
                        "[1,\n\t2]");
    /* Cut short: nothing is read past the end. */
    assert_string_equal(span_of("{\"a\":{\"b\":1", "a", out, sizeof(out)), "");
    assert_string_equal(span_of("{\"a\":\"x", "a", out, sizeof(out)), "");
    assert_string_equal(span_of("{\"a\"", "a", out, sizeof(out)), "");
    assert_string_equal(span_of("", "a", out, sizeof(out)), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(required_getters),
        cmocka_unit_test(optional_getters),
        cmocka_unit_test(parse_is_bounded),
        cmocka_unit_test(member_span_is_the_value_as_written),
        cmocka_unit_test(member_span_refuses_what_it_cannot_decide),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
