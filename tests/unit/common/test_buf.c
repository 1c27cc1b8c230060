/* Bounded buffers refuse to grow past their bound and stay terminated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sfc/common.h"

static void grows_and_bounds(void **state)
{
    struct sfc_buf b;
    char *s;

    (void)state;
    sfc_buf_init(&b, 10);
    assert_int_equal(sfc_buf_append(&b, "hello", 5), SFC_OK);
    assert_int_equal(sfc_buf_appendf(&b, "%d", 1234), SFC_OK);
    assert_string_equal(b.data, "hello1234");
    assert_int_equal(sfc_buf_append(&b, "xy", 2), SFC_ERR_TOO_BIG);
    assert_int_equal(sfc_buf_appendf(&b, "%s", "xy"), SFC_ERR_TOO_BIG);
    assert_string_equal(b.data, "hello1234");
    assert_int_equal(sfc_buf_append(&b, "!", 1), SFC_OK);
    assert_int_equal(b.len, 10);
    sfc_buf_reset(&b);
    assert_string_equal(b.data, "");
    s = sfc_buf_steal(&b);
    assert_string_equal(s, "");
    free(s);
    assert_null(b.data);

    sfc_buf_init(&b, 0);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(sfc_buf_append(&b, "abcdefgh", 8), SFC_OK);
    assert_int_equal(b.len, 80000);
    assert_int_equal(strlen(b.data), 80000);
    sfc_buf_free(&b);
}

static void strings(void **state)
{
    char *s = sfc_xasprintf("%s-%d", "a", 7);
    char *t = sfc_xstrndup("abcdef", 3);

    (void)state;
    assert_string_equal(s, "a-7");
    assert_string_equal(t, "abc");
    assert_null(sfc_xstrdup(NULL));
    free(s);
    free(t);
    sfc_free_secret(sfc_xstrdup("secret"));
    sfc_free_secret(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grows_and_bounds),
        cmocka_unit_test(strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
