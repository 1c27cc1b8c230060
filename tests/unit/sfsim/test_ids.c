/* unit_sfsim_test_ids: 15 -> 18 char checksum, normalisation, new ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "sim_int.h"

static void test_known_checksums(void **state)
{
    char out[19];
    (void)state;
    /* All-lowercase/digit chunks give "AAA"; uppercase sets bits. */
    sim_id_to18("001000000000000", out);
    assert_string_equal(out, "001000000000000AAA");
    sim_id_to18("001A00000000000", out);
    assert_string_equal(out, "001A00000000000IAA");
    sim_id_to18("00D5g000001SfSm", out);
    assert_string_equal(out + 15, "EAK");
    /* Real-world pair: 0015000000Gv7qJ -> 0015000000Gv7qJAAR. */
    sim_id_to18("0015000000Gv7qJ", out);
    assert_string_equal(out, "0015000000Gv7qJAAR");
}

static void test_normalize(void **state)
{
    char out[19];
    (void)state;
    assert_true(sim_id_normalize("0015000000Gv7qJ", out));
    assert_string_equal(out, "0015000000Gv7qJAAR");
    assert_true(sim_id_normalize("0015000000Gv7qJAAR", out));
    assert_true(sim_id_normalize("0015000000Gv7qJaar", out));
    assert_false(sim_id_normalize("0015000000Gv7qJAAB", out));
    assert_false(sim_id_normalize("001500000", out));
    assert_false(sim_id_normalize("0015000000Gv7q!", out));
}

static void test_new_ids_unique_and_valid(void **state)
{
    char a[19], b[19], n[19];
    (void)state;
    sim_id_new("003", a);
    sim_id_new("003", b);
    assert_int_equal(strlen(a), 18);
    assert_memory_equal(a, "003", 3);
    assert_string_not_equal(a, b);
    assert_true(sim_id_normalize(a, n));
    assert_string_equal(n, a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_checksums),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_new_ids_unique_and_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
