/*
 * demo.c - --demo: a few accounts, contacts, leads, PushTopics and a
 * streaming channel, then a Contact and a Lead created and one of each
 * updated every tick, through the same store path as REST DML. The changes
 * are made by a second user of the org (sales@sfsim.local), as a
 * salesperson's would be: a connector logged in as the demo user that
 * leaves out its own changes (exclude_current_user) still sees them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seed.h"
#include "store.h"
#include "sfc/common.h"

#define DEMO_WRITER "sales@sfsim.local"

static void create_rec(
    struct sim *sim, const char *obj, cJSON *fields, char id[19], bool seed)
{
    struct sim_dml_error err;
    struct sim_object *o = sim_object_find(sim, obj);
    if (!sim_rec_create(sim, o, fields, sim->demo_writer, "demo", seed, id,
                        &err))
        sfc_log(SFC_LOG_WARN, "sfsim", "demo %s: %s", obj, err.message);
    cJSON_Delete(fields);
}

static void create(struct sim *sim, const char *obj, cJSON *fields, char id[19])
{
    create_rec(sim, obj, fields, id, true);
}

static cJSON *topic(const char *name, const char *query)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "Name", name);
    cJSON_AddStringToObject(t, "Query", query);
    cJSON_AddNumberToObject(t, "ApiVersion", 60.0);
    cJSON_AddStringToObject(t, "NotifyForFields", "All");
    return t;
}

void sim_demo_seed(struct sim *sim)
{
    char id[19], acct[19];
    cJSON *f;
    int i;

    /* The org's salesperson, who makes the demo's changes (no login). */
    memcpy(sim->demo_writer, sim->auth->users[0].id, 19);
    f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "Username", DEMO_WRITER);
    cJSON_AddStringToObject(f, "Email", DEMO_WRITER);
    cJSON_AddStringToObject(f, "FirstName", "Sam");
    cJSON_AddStringToObject(f, "LastName", "Sales");
    create(sim, "User", f, id);
    memcpy(sim->demo_writer, id, 19);
    f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "Name", "Acme Corporation");
    create(sim, "Account", f, acct);
    for (i = 0; i < 3; i++) {
        char name[32];
        f = cJSON_CreateObject();
        snprintf(name, sizeof(name), "Contact%d", i);
        cJSON_AddStringToObject(f, "LastName", name);
        cJSON_AddStringToObject(f, "AccountId", acct);
        create(sim, "Contact", f, id);
        f = cJSON_CreateObject();
        snprintf(name, sizeof(name), "Lead%d", i);
        cJSON_AddStringToObject(f, "LastName", name);
        cJSON_AddStringToObject(f, "Company", "Acme");
        create(sim, "Lead", f, id);
    }
    create(sim, "PushTopic",
           topic("ContactUpdates", "SELECT Id, Name, Email, "
                                   "LastModifiedById, LastModifiedDate FROM "
                                   "Contact"),
           id);
    create(sim, "PushTopic",
           topic("LeadUpdates", "SELECT Id, Name, Company, Status FROM Lead"),
           id);
    f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "Name", "/u/Notifications");
    create(sim, "StreamingChannel", f, id);
}

static void
update_one(struct sim *sim, const char *obj, const char *field, unsigned long n)
{
    struct sim_object *o = sim_object_find(sim, obj);
    struct sim_dml_error err;
    struct sim_rec *r = NULL;
    char val[64];
    cJSON *f;

    sim_store_lock(sim);
    if (o->n_recs)
        r = o->recs[sim_rand(sim) % o->n_recs];
    if (r && !r->deleted) {
        f = cJSON_CreateObject();
        snprintf(val, sizeof(val), "Updated %lu", n);
        cJSON_AddStringToObject(f, field, val);
        sim_rec_update(sim, r, f, sim->demo_writer, "demo", &err);
        cJSON_Delete(f);
    }
    sim_store_unlock(sim);
}

void sim_demo_tick(struct sim *sim)
{
    static unsigned long n;
    char id[19], name[48];
    cJSON *f;

    n++;
    f = cJSON_CreateObject();
    snprintf(name, sizeof(name), "Demo%lu", n);
    cJSON_AddStringToObject(f, "LastName", name);
    snprintf(name, sizeof(name), "demo%lu@example.com", n);
    cJSON_AddStringToObject(f, "Email", name);
    create_rec(sim, "Contact", f, id, false);
    f = cJSON_CreateObject();
    snprintf(name, sizeof(name), "DemoLead%lu", n);
    cJSON_AddStringToObject(f, "LastName", name);
    cJSON_AddStringToObject(f, "Company", "Demo Inc");
    create_rec(sim, "Lead", f, id, false);
    update_one(sim, "Contact", "Title", n);
    update_one(sim, "Lead", "Title", n);
}
