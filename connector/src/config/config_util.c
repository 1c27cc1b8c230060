/* Table helpers: defaults, freeing, names, suggestions, URI redaction. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"

const char *sfc_config_auth_name(enum sfc_api_auth m)
{
    return (unsigned)m <= SFC_API_AUTH_TOKEN ? cfg_auth_names[m] : "unknown";
}

const char *sfc_config_rpc_operation_name(enum sfc_rpc_op op)
{
    return (unsigned)op <= SFC_RPC_QUERY ? cfg_rpc_operation_names[op]
                                         : "unknown";
}

const char *cfg_choice(const struct cfg_key *k, size_t i)
{
    if (k->type == CFG_ENUM)
        return k->allowed[i];
    if (k->type == CFG_ROW)
        return *(const char *const *)((const char *)k->rows + i * k->row_size);
    return NULL;
}

const char *cfg_type_name(const struct cfg_key *k)
{
    switch (k->type) {
    case CFG_STR:
        return "string";
    case CFG_INT:
        return "integer";
    case CFG_BOOL:
        return "boolean";
    case CFG_ENUM:
    case CFG_ROW:
        return "enum";
    case CFG_STRLIST:
        return "list of strings";
    case CFG_LIST:
        return "list of groups";
    }
    return "?";
}

void cfg_set_default(const struct cfg_key *k, void *base)
{
    void *f = cfg_field(base, k);

    switch (k->type) {
    case CFG_STR:
        *(char **)f = sfc_xstrdup(k->def);
        break;
    case CFG_INT:
        *(int64_t *)f = k->def ? strtoll(k->def, NULL, 10) : 0;
        break;
    case CFG_BOOL:
        *(bool *)f = k->def && strcmp(k->def, "true") == 0;
        break;
    case CFG_ENUM:
        *(int *)f = 0;
        for (int i = 0; k->def && k->allowed[i]; i++)
            if (strcmp(k->allowed[i], k->def) == 0)
                *(int *)f = i;
        break;
    case CFG_ROW:
        *(const void **)f = NULL;
        for (size_t i = 0; k->def && cfg_choice(k, i); i++)
            if (strcmp(cfg_choice(k, i), k->def) == 0)
                *(const void **)f = (const char *)k->rows + i * k->row_size;
        break;
    case CFG_STRLIST:
    case CFG_LIST:
        *(void **)f = NULL;
        *(size_t *)((char *)base + k->count_offset) = 0;
        break;
    }
}

static void free_string(const struct cfg_key *k, char **s)
{
    if (k->flags & CFG_F_SECRET)
        sfc_free_secret(*s);
    else
        free(*s);
    *s = NULL;
}

void cfg_free_table(const struct cfg_table *t, void *base)
{
    for (size_t i = 0; i < t->n_keys; i++) {
        const struct cfg_key *k = &t->keys[i];
        void *f = cfg_field(base, k);
        size_t *n = (size_t *)((char *)base + k->count_offset);

        if (k->type == CFG_STR) {
            free_string(k, f);
        } else if (k->type == CFG_STRLIST) {
            char **list = *(char ***)f;

            for (size_t j = 0; j < *n; j++)
                free(list[j]);
            free(list);
            *(char ***)f = NULL;
            *n = 0;
        } else if (k->type == CFG_LIST) {
            char *items = *(char **)f;

            for (size_t j = 0; j < *n; j++)
                cfg_free_table(k->sub, items + j * k->sub->elem_size);
            free(items);
            *(char **)f = NULL;
            *n = 0;
        }
    }
}

/* Levenshtein distance, bounded to short names. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[65];

    if (la > 64 || lb > 64)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = (a[i - 1] | 0x20) == (b[j - 1] | 0x20) ? 0 : 1;
            size_t best = diag + cost;

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *
cfg_suggest(const char *name, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t best_d = 99;
    size_t limit = strlen(name) <= 4 ? 1 : strlen(name) <= 8 ? 2 : 3;

    for (size_t i = 0; i < n; i++) {
        size_t d = distance(name, candidates[i]);

        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

char *sfc_config_redact_uri(const char *uri)
{
    return sfc_uri_redact(uri);
}
