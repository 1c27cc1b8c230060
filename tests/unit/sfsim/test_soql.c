/* unit_sfsim_test_soql: SOQL subset parser, WHERE evaluation, ORDER BY. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim.h"
#include "soql_int.h"

static struct sim_soql *parse_ok(const char *q)
{
    char err[512];
    const char *code = NULL;
    struct sim_soql *s = sim_soql_parse(q, err, sizeof(err), &code);
    if (!s)
        fail_msg("parse failed for %s: %s", q, err);
    return s;
}

static bool matches(const char *q, const char *record_json)
{
    struct sim_soql *s = parse_ok(q);
    cJSON *r = cJSON_Parse(record_json);
    bool m;
    assert_non_null(r);
    m = sim_soql_match(s, r);
    cJSON_Delete(r);
    sim_soql_free(s);
    return m;
}

static void test_parse_shapes(void **state)
{
    struct sim_soql *s;
    (void)state;
    s = parse_ok("select id, Name, Account.Name from contact where Email = "
                 "'a@b.c' and (Title != null or Name like 'A%') order by "
                 "CreatedDate desc nulls last limit 10 offset 5");
    assert_string_equal(sim_soql_object(s), "contact");
    assert_int_equal(sim_soql_select_count(s), 3);
    assert_string_equal(sim_soql_select_field(s, 2), "Account.Name");
    assert_true(sim_soql_has_relationship(s));
    assert_true(sim_soql_has_order_by(s));
    assert_true(sim_soql_has_limit(s));
    assert_true(sim_soql_has_offset(s));
    assert_int_equal(sim_soql_where_count(s), 3);
    assert_false(sim_soql_has_not(s));
    sim_soql_free(s);
    s = parse_ok("SELECT COUNT() FROM Lead WHERE IsConverted = false");
    assert_true(sim_soql_is_count(s));
    assert_int_equal(sim_soql_select_count(s), 0);
    sim_soql_free(s);
    s = parse_ok("SELECT Id FROM Case WHERE NOT Status = 'New'");
    assert_true(sim_soql_has_not(s));
    sim_soql_free(s);
}

static void test_parse_errors(void **state)
{
    static const char *const bad[] = {
        "SELECT Id FRM Contact",
        "SELECT FROM Contact",
        "SELECT Id FROM Contact WHERE",
        "SELECT Id FROM Contact LIMIT x",
        "SELECT Id FROM Contact WHERE Name = 'open",
        "SELECT Id FROM Contact WHERE Name == 'x'",
        "SELECT Id, FROM Contact",
        "SELECT Id FROM Contact extra",
        NULL};
    char err[512];
    const char *code;
    size_t i;
    (void)state;
    for (i = 0; bad[i]; i++) {
        code = NULL;
        if (sim_soql_parse(bad[i], err, sizeof(err), &code))
            fail_msg("accepted: %s", bad[i]);
        assert_string_equal(code, "MALFORMED_QUERY");
        assert_non_null(strstr(err, "ERROR at Row:1:Column:"));
        assert_non_null(strstr(err, bad[i]));
    }
}

static void test_where_semantics(void **state)
{
    const char *rec = "{\"Id\":\"0035g0000000001AAA\",\"Name\":\"Acme Ltd\","
                      "\"Email\":\"A@B.C\",\"Title\":null,\"Amount\":10.5,"
                      "\"IsConverted\":false,\"CreatedDate\":"
                      "\"2024-03-01T10:00:00.000+0000\",\"Account\":{"
                      "\"Name\":\"Parent\"}}";
    (void)state;
    assert_true(matches("SELECT Id FROM Contact", rec));
    assert_true(matches("SELECT Id FROM C WHERE Email = 'a@b.c'", rec));
    assert_false(matches("SELECT Id FROM C WHERE Email != 'a@b.c'", rec));
    assert_true(matches("SELECT Id FROM C WHERE Title = null", rec));
    assert_false(matches("SELECT Id FROM C WHERE Title != null", rec));
    assert_true(matches("SELECT Id FROM C WHERE Name LIKE 'acme%'", rec));
    assert_true(matches("SELECT Id FROM C WHERE Name LIKE '_cme L_d'", rec));
    assert_false(matches("SELECT Id FROM C WHERE Name NOT LIKE '%Ltd'", rec));
    assert_true(matches("SELECT Id FROM C WHERE Amount > 10 AND Amount <= "
                        "10.5",
                        rec));
    assert_true(matches("SELECT Id FROM C WHERE IsConverted = false", rec));
    assert_true(matches("SELECT Id FROM C WHERE Id IN ('0035g0000000001', "
                        "'0035g0000000002')",
                        rec));
    assert_false(matches("SELECT Id FROM C WHERE Id NOT IN "
                         "('0035g0000000001AAA')",
                         rec));
    assert_true(matches("SELECT Id FROM C WHERE CreatedDate > "
                        "2024-01-01T00:00:00Z",
                        rec));
    assert_false(
        matches("SELECT Id FROM C WHERE CreatedDate < 2024-03-01", rec));
    assert_true(
        matches("SELECT Id FROM C WHERE CreatedDate = 2024-03-01", rec));
    assert_true(matches("SELECT Id FROM C WHERE Account.Name = 'parent'", rec));
    assert_true(matches("SELECT Id FROM C WHERE Name = 'x' OR (Amount < 20 "
                        "AND NOT Email = 'z')",
                        rec));
    assert_true(matches("SELECT Id FROM C WHERE Name = 'It\\'s' OR Name != "
                        "'It\\'s'",
                        rec));
}

static void test_order(void **state)
{
    struct sim_soql *s = parse_ok("SELECT Id FROM C ORDER BY Amount DESC, "
                                  "Name");
    cJSON *a = cJSON_Parse("{\"Amount\":1,\"Name\":\"b\"}");
    cJSON *b = cJSON_Parse("{\"Amount\":2,\"Name\":\"a\"}");
    cJSON *c = cJSON_Parse("{\"Amount\":1,\"Name\":\"a\"}");
    cJSON *n = cJSON_Parse("{\"Amount\":null,\"Name\":\"a\"}");
    (void)state;
    assert_true(sim_soql_compare(s, b, a) < 0);
    assert_true(sim_soql_compare(s, c, a) < 0);
    /* DESC defaults to NULLS LAST. */
    assert_true(sim_soql_compare(s, n, a) > 0);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    cJSON_Delete(n);
    sim_soql_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_shapes),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_where_semantics),
        cmocka_unit_test(test_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
