/*
 * soql_schema.h - a small made-up schema for testing the SOQL allowlist
 * checker without Salesforce: parent and child relationships, polymorphic
 * ones (Case.Owner, Event.What, Event.Who), and one whose lookup fails
 * (Contact.Broken). Used by unit_rpc_soql and the fuzz_soql target.
 */
#ifndef SFC_TEST_SOQL_SCHEMA_H
#define SFC_TEST_SOQL_SCHEMA_H

#include <stdbool.h>

/* As sfc_soql_env.follow, over the made-up schema; @opaque is unused. */
int soql_schema_follow(void *opaque,
                       const char *object,
                       const char *name,
                       bool child,
                       char ***targets);

#endif
