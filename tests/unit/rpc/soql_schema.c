/* The made-up schema of soql_schema.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "soql_schema.h"

/* object, relationship, child?, targets (NULL ends; none: lookup fails) */
static const struct rel {
    const char *object, *name;
    bool child;
    const char *targets[4];
} rels[] = {
    {"Contact", "Account", false, {"Account"}},
    {"Contact", "Owner", false, {"User"}},
    {"Contact", "ReportsTo", false, {"Contact"}},
    {"Contact", "Cases", true, {"Case"}},
    {"Contact", "Broken", false, {NULL}},
    {"Account", "Owner", false, {"User"}},
    {"Account", "Parent", false, {"Account"}},
    {"Account", "Contacts", true, {"Contact"}},
    {"Account", "Cases", true, {"Case"}},
    {"Case", "Contact", false, {"Contact"}},
    {"Case", "Owner", false, {"User", "Group"}},
    {"Event", "What", false, {"Account", "Opportunity", "Case"}},
    {"Event", "Who", false, {"Contact", "Lead"}},
    {"User", "Manager", false, {"User"}},
};

int soql_schema_follow(void *opaque,
                       const char *object,
                       const char *name,
                       bool child,
                       char ***targets)
{
    (void)opaque;
    for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++) {
        const struct rel *r = &rels[i];
        int n = 0;

        if (strcasecmp(r->object, object) || strcasecmp(r->name, name) ||
            r->child != child)
            continue;
        if (!r->targets[0])
            return -1;
        while (n < 4 && r->targets[n])
            n++;
        *targets = calloc((size_t)n, sizeof(char *));
        for (int k = 0; k < n; k++)
            (*targets)[k] = strdup(r->targets[k]);
        return n;
    }
    return 0;
}
