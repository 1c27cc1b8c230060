/* Bounded buffers refuse to grow past their bound and stay terminated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* The hand-made formats give what printf gives. */
static void concat_and_numbers(void **state)
{
    static const int64_t nums[] = {
        0, 7, -7, 10, 1234567890123456789LL, INT64_MAX, INT64_MIN};
    static const uint64_t hexes[] = {
        0, 1, 0xabcdef, 0xffffffffULL, 0x123456789abcdef0ULL, UINT64_MAX};
    char got[32], want[32];
    char *s = sfc_xconcat("salesforce_", "lead", "_", "updated", NULL);

    (void)state;
    assert_string_equal(s, "salesforce_lead_updated");
    free(s);
    s = sfc_xconcat("", NULL);
    assert_string_equal(s, "");
    free(s);
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        size_t n = sfc_fmt_i64(got, nums[i]);

        snprintf(want, sizeof(want), "%lld", (long long)nums[i]);
        assert_string_equal(got, want);
        assert_int_equal(n, strlen(want));
    }
    for (size_t i = 0; i < sizeof(hexes) / sizeof(hexes[0]); i++) {
        for (int min = 0; min <= 8; min += 8) {
            size_t n = sfc_fmt_hex(got, hexes[i], min);

            snprintf(want, sizeof(want), "%0*llx", min,
                     (unsigned long long)hexes[i]);
            assert_string_equal(got, want);
            assert_int_equal(n, strlen(want));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grows_and_bounds),
        cmocka_unit_test(strings),
        cmocka_unit_test(concat_and_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
