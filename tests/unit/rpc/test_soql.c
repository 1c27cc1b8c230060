/*
 * unit_rpc_soql: the SOQL allowlist checker on the made-up schema of
 * tests/unit/rpc/soql_schema.h: what each
 * statement reads (FROM, subqueries, relationship paths in every clause,
 * TYPEOF, polymorphic relationships), and what it refuses because it does
 * not fully understand it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "sfc/rpc.h"
#include "soql_schema.h"

static const char *const *allow_list;

static bool allowed(void *opaque, const char *object)
{
    (void)opaque;
    for (const char *const *a = allow_list; *a; a++)
        if (strcasecmp(*a, object) == 0)
            return true;
    return false;
}

static enum sfc_soql_verdict verdict(const char *soql, char *why, size_t size)
{
    struct sfc_soql_env env = {NULL, allowed, soql_schema_follow};

    return sfc_soql_check(soql, strlen(soql), &env, why, size);
}

struct want {
    const char *soql;
    enum sfc_soql_verdict v;
    const char *why; /* a part of the reason, or NULL */
};

static void expect_all(const struct want *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char why[300] = "";
        enum sfc_soql_verdict v = verdict(w[i].soql, why, sizeof(why));

        if (v != w[i].v || (w[i].why && !strstr(why, w[i].why)))
            fail_msg("%s: verdict %d (%s), expected %d (%s)", w[i].soql, v, why,
                     w[i].v, w[i].why ? w[i].why : "");
    }
}

#define OK      SFC_SOQL_ALLOWED
#define REFUSED SFC_SOQL_REFUSED
#define UNCLEAR SFC_SOQL_UNCLEAR

static void contact_only(void **state)
{
    static const char *const only[] = {"Contact", NULL};
    static const struct want w[] = {
        {"SELECT Id FROM Contact", OK, NULL},
        {"select id, name from contact where name like 'A%' limit 5", OK, NULL},
        {"SELECT COUNT() FROM Contact", OK, NULL},
        {"SELECT Contact.Id, c.Name FROM Contact c", OK, NULL},
        {"SELECT Id, ReportsTo.Name FROM Contact", OK, NULL},
        {"SELECT Id FROM Contact WHERE Name = 'SELECT Id FROM User'", OK, NULL},
        {"SELECT Id FROM Contact WHERE Name = '\\' FROM User'", OK, NULL},
        {"SELECT Id FROM Contact WHERE CreatedDate > 2024-01-31T10:00:00Z "
         "AND LastModifiedDate = LAST_N_DAYS:3 AND IsDeleted = false",
         OK, NULL},
        {"SELECT FIELDS(STANDARD) FROM Contact LIMIT 200", OK, NULL},
        {"SELECT Id FROM Contact WITH SECURITY_ENFORCED ORDER BY Name DESC "
         "NULLS LAST LIMIT 10 OFFSET 10 FOR VIEW",
         OK, NULL},
        {"SELECT Id FROM User", REFUSED, "it reads User (FROM)"},
        {"SELECT Id, Username FROM User", REFUSED, "User"},
        {"SELECT Id, Account.Name FROM Contact", REFUSED,
         "it reads Account (parent relationship Account of Contact)"},
        {"SELECT Id FROM Contact WHERE Owner.Username = 'x'", REFUSED, "User"},
        {"SELECT Id FROM Contact ORDER BY Owner.Username", REFUSED, "User"},
        {"SELECT Id, MAX(Account.Name) FROM Contact", REFUSED, "Account"},
        {"SELECT Owner.Name, COUNT(Id) FROM Contact GROUP BY Owner.Name",
         REFUSED, "User"},
        {"SELECT Id FROM Contact WHERE OwnerId IN (SELECT Id FROM User)",
         REFUSED, "it reads User (a subquery's FROM)"},
        {"SELECT Id, (SELECT Id FROM Cases) FROM Contact", REFUSED,
         "child relationship Cases of Contact"},
        {"SELECT TYPEOF Owner WHEN User THEN Username END FROM Contact",
         REFUSED, "User"},
        {"SELECT Id, c.Account.Name FROM Contact c", REFUSED, "Account"},
        {"SELECT Id, Nope.Name FROM Contact", UNCLEAR,
         "no parent relationship Nope on Contact"},
        {"SELECT Id, Broken.Name FROM Contact", SFC_SOQL_LOOKUP_FAILED,
         "could not be looked up"},
        {"SELECT Id FROM Contact c, c.Account a", UNCLEAR, "several objects"},
        {"SELECT Id FROM Contact; SELECT Id FROM User", UNCLEAR, NULL},
        {"SELECT Id FROM Contact WHERE Id = :ids", UNCLEAR, "bind variable"},
        {"SELECT Id FROM Contact WHERE Name = 'x", UNCLEAR, "does not end"},
        {"SELECT Id FROM Us\xd0\xb5r", UNCLEAR, "outside ASCII"},
        {"SELECT Id, NOSUCHFN(Name) FROM Contact", UNCLEAR, "function"},
        {"SELECT Id FROM Contact WITH DATA CATEGORY Geo__c AT usa__c", UNCLEAR,
         "WITH"},
        {"SELECT Id FROM Contact UNION SELECT Id FROM User", UNCLEAR, NULL},
        {"FIND {x} RETURNING User", UNCLEAR, NULL},
        {"", UNCLEAR, "empty"},
        {"SELECT FROM Contact", UNCLEAR, NULL},
        {"SELECT Id Contact", UNCLEAR, "FROM expected"},
    };

    (void)state;
    allow_list = only;
    expect_all(w, sizeof(w) / sizeof(w[0]));
}

static void wider_allowlists(void **state)
{
    static const char *const three[] = {"Account", "Contact", "Case", NULL};
    static const struct want w[] = {
        {"SELECT Id, Account.Name FROM Contact", OK, NULL},
        {"SELECT Id, (SELECT Id, Contact.Name FROM Cases WHERE Status = 'New' "
         "LIMIT 5) FROM Account",
         OK, NULL},
        {"SELECT Id, (SELECT Id, (SELECT Id FROM Cases) FROM Contacts) FROM "
         "Account",
         OK, NULL},
        {"SELECT Id FROM Contact WHERE AccountId IN (SELECT Id FROM Account "
         "WHERE Name LIKE 'A%')",
         OK, NULL},
        {"SELECT Id, What.Name FROM Event", REFUSED, "Event"},
        {"SELECT Id, Owner.Name FROM Case", REFUSED, "User"},
        {"SELECT Id, Account.Owner.Email FROM Contact", REFUSED, "User"},
        {"SELECT Id, (SELECT Id FROM Opportunities) FROM Account", UNCLEAR,
         "no child relationship Opportunities on Account"},
    };
    static const char *const events[] = {"Event", "Account", "Case",
                                         "Opportunity", NULL};
    static const struct want w2[] = {
        /* A polymorphic relationship reads each type it can hold. */
        {"SELECT Id, What.Name FROM Event", OK, NULL},
        {"SELECT TYPEOF What WHEN Account THEN Phone ELSE Name END FROM Event",
         OK, NULL},
        {"SELECT Id, What.Owner.Name FROM Event", UNCLEAR, "polymorphic"},
    };

    (void)state;
    allow_list = three;
    expect_all(w, sizeof(w) / sizeof(w[0]));
    allow_list = events;
    expect_all(w2, sizeof(w2) / sizeof(w2[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(contact_only),
        cmocka_unit_test(wider_allowlists),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
