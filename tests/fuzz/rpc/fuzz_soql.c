/*
 * libFuzzer target for the SOQL allowlist checker, over the made-up schema
 * of tests/unit/rpc/soql_schema.h. Byte 0 picks the allowlist; the rest is the
 * statement.
 *
 * Beyond "no crash": the verdict does not change when asked twice; a
 * refusal or an unclear statement always says why; and allowing more
 * objects never turns an allowed statement into a refused one, nor lets a
 * statement reading an object that is not allowed through (monotonicity,
 * checked against the same statement with every object allowed and with
 * one object fewer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfc/rpc.h"
#include "soql_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const objects[] = {"Contact",     "Account", "User",
                                      "Case",        "Event",   "Lead",
                                      "Opportunity", "Group"};
#define N_OBJECTS (sizeof(objects) / sizeof(objects[0]))
#define ALL       ((1u << N_OBJECTS) - 1)

struct env {
    unsigned allowed; /* bit per object */
};

static bool allowed(void *opaque, const char *object)
{
    const struct env *e = opaque;

    for (size_t i = 0; i < N_OBJECTS; i++)
        if (strcasecmp(objects[i], object) == 0)
            return (e->allowed >> i) & 1;
    /* Objects outside the schema: only when everything is allowed. */
    return e->allowed == ALL;
}

static enum sfc_soql_verdict check(const char *s, size_t n, unsigned mask)
{
    struct env e = {mask};
    struct sfc_soql_env env = {&e, allowed, soql_schema_follow};
    char why[256];
    enum sfc_soql_verdict v = sfc_soql_check(s, n, &env, why, sizeof(why));

    if (v != SFC_SOQL_ALLOWED && !why[0]) {
        fprintf(stderr, "verdict %d without a reason\n", v);
        abort();
    }
    if (v > SFC_SOQL_LOOKUP_FAILED) {
        fprintf(stderr, "verdict %d out of range\n", v);
        abort();
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned all = ALL, mask;
    const char *s = (const char *)data + 1;
    size_t n = size ? size - 1 : 0;
    enum sfc_soql_verdict v, v_all;

    if (size < 1)
        return 0;
    mask = data[0] & ALL;
    v = check(s, n, mask);
    if (check(s, n, mask) != v) {
        fprintf(stderr, "the verdict changed when asked again\n");
        abort();
    }
    v_all = check(s, n, all);
    /* The allowlist only ever adds refusals: with every object allowed
     * nothing is refused, and with fewer allowed the verdict is the same
     * or a refusal. */
    if (v_all == SFC_SOQL_REFUSED) {
        fprintf(stderr, "refused with every object allowed\n");
        abort();
    }
    if (v != v_all && v != SFC_SOQL_REFUSED) {
        fprintf(stderr, "verdict %d, but %d with every object allowed\n", v,
                v_all);
        abort();
    }
    for (size_t i = 0; i < N_OBJECTS; i++) {
        enum sfc_soql_verdict less;

        if (!((mask >> i) & 1))
            continue;
        less = check(s, n, mask & ~(1u << i));
        if (less != v && less != SFC_SOQL_REFUSED) {
            fprintf(stderr, "verdict %d, but %d without %s\n", v, less,
                    objects[i]);
            abort();
        }
    }
    return 0;
}
