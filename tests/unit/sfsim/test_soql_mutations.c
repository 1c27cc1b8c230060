/*
 * unit_sfsim_test_soql_mutations: the SOQL parser and evaluator on
 * deterministic random mutations of valid queries (truncations, byte
 * flips, insertions): every input either parses or yields a
 * MALFORMED_QUERY message with the echo+caret form; nothing crashes (run
 * under ASan/UBSan in the sanitizer build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim.h"

static const char *const SEEDS[] = {
    "SELECT Id, Name, Query FROM PushTopic WHERE Name = 'ContactUpdates'",
    "SELECT Id, DeveloperName FROM RecordType WHERE SobjectType = 'Contact' "
    "AND DeveloperName = 'Student'",
    "SELECT Id FROM Contact WHERE Id IN ('003000000000001', "
    "'003000000000002') ORDER BY CreatedDate DESC NULLS LAST LIMIT 10 "
    "OFFSET 2",
    "SELECT COUNT() FROM Lead WHERE IsConverted = false OR (Amount >= 1.5e3 "
    "AND NOT Name LIKE 'A\\_%')",
    "SELECT Id, Account.Name FROM Contact WHERE LastModifiedDate > "
    "2024-01-01T00:00:00Z AND CreatedDate < LAST_N_DAYS:7",
};

static const char ALPHABET[] = "SELECTFROMWHERE ()',.=<>!%_\\:-+0123456789aZ";

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static char *mutate(const char *seed)
{
    size_t n = strlen(seed), i, edits = 1 + next_rand() % 4;
    char *s = malloc(n + 8);

    memcpy(s, seed, n + 1);
    for (i = 0; i < edits; i++) {
        size_t len = strlen(s);
        size_t at = len ? next_rand() % len : 0;
        switch (next_rand() % 3) {
        case 0: /* truncate */
            s[at] = '\0';
            break;
        case 1: /* replace a byte */
            if (len)
                s[at] = ALPHABET[next_rand() % (sizeof(ALPHABET) - 1)];
            break;
        default: /* insert a byte */
            if (len + 1 < n + 8) {
                memmove(s + at + 1, s + at, len - at + 1);
                s[at] = ALPHABET[next_rand() % (sizeof(ALPHABET) - 1)];
            }
            break;
        }
    }
    return s;
}

static void test_mutations(void **state)
{
    cJSON *rec = cJSON_Parse("{\"Id\":\"003000000000001AAA\",\"Name\":\"Ann\","
                             "\"Amount\":2000,\"IsConverted\":false,"
                             "\"LastModifiedDate\":\"2024-05-01T00:00:00.000+"
                             "0000\",\"Account\":{\"Name\":\"A\"}}");
    size_t i, parsed = 0, rejected = 0;
    char err[2048];

    (void)state;
    for (i = 0; i < 20000; i++) {
        char *q = mutate(SEEDS[i % (sizeof(SEEDS) / sizeof(SEEDS[0]))]);
        const char *code = NULL;
        struct sim_soql *s = sim_soql_parse(q, err, sizeof(err), &code);
        if (s) {
            (void)sim_soql_match(s, rec);
            parsed++;
            sim_soql_free(s);
        } else {
            assert_string_equal(code, "MALFORMED_QUERY");
            assert_non_null(strstr(err, "ERROR at Row:1:Column:"));
            rejected++;
        }
        free(q);
    }
    /* Both outcomes occur: the mutations are neither all fatal nor all
     * harmless. */
    assert_true(parsed > 100);
    assert_true(rejected > 100);
    cJSON_Delete(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
