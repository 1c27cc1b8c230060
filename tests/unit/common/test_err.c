/* Every status code has its own description. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "sfc/common.h"

static void every_status_has_a_distinct_string(void **state)
{
    (void)state;
    for (int i = 0; i < SFC_ERR__END; i++) {
        const char *s = sfc_err2str((sfc_err_t)i);

        assert_non_null(s);
        assert_string_not_equal(s, "unknown status");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(s, sfc_err2str((sfc_err_t)j));
    }
    assert_string_equal(sfc_err2str(SFC_ERR__END), "unknown status");
    assert_string_equal(sfc_err2str((sfc_err_t)9999), "unknown status");
}

static void errstr_tolerates_null_and_truncates(void **state)
{
    char buf[8];

    (void)state;
    sfc_errstr_set(NULL, 0, "x %d", 1);
    sfc_errstr_set(buf, 0, "nothing");
    sfc_errstr_set(buf, sizeof(buf), "abcdefghijkl");
    assert_string_equal(buf, "abcdefg");
}

static void backoff_stays_within_bounds(void **state)
{
    (void)state;
    for (unsigned a = 0; a < 20; a++) {
        for (int k = 0; k < 200; k++) {
            int64_t d = sfc_backoff_ms(a, 100, 5000);

            assert_true(d >= 50);
            assert_true(d <= 5000);
            if (a == 0)
                assert_true(d <= 100);
        }
    }
    assert_int_equal(sfc_backoff_ms(3, 0, 100), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_status_has_a_distinct_string),
        cmocka_unit_test(errstr_tolerates_null_and_truncates),
        cmocka_unit_test(backoff_stays_within_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
