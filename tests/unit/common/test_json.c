/* Typed JSON getters: presence, types, optional forms, bounded parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(required_getters),
        cmocka_unit_test(optional_getters),
        cmocka_unit_test(parse_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
