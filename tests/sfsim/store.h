/*
 * store.h - the in-memory org: typed schema per sObject and its records.
 * One recursive store lock (sim_store_lock) guards schema and records; DML
 * notifies the stream side with the lock held so notifications keep commit
 * order.
 */
#ifndef SFSIM_STORE_H
#define SFSIM_STORE_H

#include "sim_int.h"

enum sim_ftype {
    SIM_F_ID,
    SIM_F_STRING,
    SIM_F_TEXTAREA,
    SIM_F_EMAIL,
    SIM_F_PHONE,
    SIM_F_URL,
    SIM_F_PICKLIST,
    SIM_F_BOOLEAN,
    SIM_F_DOUBLE,
    SIM_F_INT,
    SIM_F_CURRENCY,
    SIM_F_PERCENT,
    SIM_F_DATE,
    SIM_F_DATETIME,
    SIM_F_REFERENCE
};

struct sim_field {
    char *name;
    char *label;
    enum sim_ftype type;
    int length;
    bool required; /* create needs a non-null value */
    bool external_id;
    bool unique;
    bool createable;
    bool updateable;
    bool restricted; /* restricted picklist */
    char *reference_to;
    char *relationship;
    char **picklist;
    size_t n_picklist;
    cJSON *default_value; /* owned, may be NULL */
};

struct sim_rec {
    char id[19];
    cJSON *data; /* canonical names, with "attributes" */
    bool deleted;
    bool seed; /* survives /_sim/reset */
    struct sim_object *obj;
};

struct sim_object {
    char *name;
    char *label;
    char prefix[4];
    bool custom;
    bool is_event; /* __e: platform event, not stored */
    bool has_name; /* computed Name from FirstName/LastName */
    struct sim_field *fields;
    size_t n_fields;
    struct sim_rec **recs; /* creation order, deleted ones too */
    size_t n_recs, cap_recs;
    struct sim_rule *rules; /* validation rules from the seed */
    size_t n_rules;
};

/* A validation rule: a record matching @when is rejected. */
struct sim_rule {
    struct sim_soql *when; /* "SELECT Id FROM X WHERE <condition>" */
    char *message;
    char *field; /* may be NULL */
};

/* A DML failure in Salesforce's terms. */
struct sim_dml_error {
    int status;
    char code[48];
    char message[600];
    char field[80]; /* "" = fields [] */
};

struct sim_store *sim_store_new(void);
void sim_store_destroy(struct sim_store *st);
void sim_store_lock(struct sim *sim);
void sim_store_unlock(struct sim *sim);
/* Registers a new object (schema.c builds it). */
void sim_store_add_object(struct sim *sim, struct sim_object *o);

/* Schema (schema.c). Lookups are case-insensitive; borrowed pointers valid
 * while the store lives (objects are never removed). */
void sim_schema_builtin(struct sim *sim);
struct sim_object *sim_object_find(struct sim *sim, const char *name);
struct sim_object *sim_object_by_prefix(struct sim *sim, const char *id);
struct sim_field *sim_field_find(const struct sim_object *o, const char *name);
/* Adds (or extends) an object from a seed declaration. */
int sim_schema_declare(struct sim *sim,
                       const cJSON *decl,
                       char *errstr,
                       size_t sz);
size_t sim_object_count(struct sim *sim);
struct sim_object *sim_object_at(struct sim *sim, size_t i);
const char *sim_ftype_name(enum sim_ftype t);

/* Rewrites @data's datetime fields (by @o's schema) in the Streaming API's
 * form, "2024-05-20T20:49:32.000Z"; others are left as they are. */
void sim_datetimes_z(const struct sim_object *o, cJSON *data);

/* Records (store.c). Call with the store lock held. */
struct sim_rec *sim_rec_find(struct sim *sim, const char *id);
/* Creates a record from @fields (request body, not modified). */
bool sim_rec_create(struct sim *sim,
                    struct sim_object *o,
                    const cJSON *fields,
                    const char *user_id,
                    const char *tx,
                    bool seed,
                    char id_out[19],
                    struct sim_dml_error *err);
/* Validates a create (@r NULL) or an update of @r without committing. */
bool sim_rec_check(struct sim *sim,
                   struct sim_object *o,
                   struct sim_rec *r,
                   const cJSON *fields,
                   struct sim_dml_error *err);
bool sim_rec_update(struct sim *sim,
                    struct sim_rec *r,
                    const cJSON *fields,
                    const char *user_id,
                    const char *tx,
                    struct sim_dml_error *err);
bool sim_rec_delete(struct sim *sim,
                    struct sim_rec *r,
                    const char *user_id,
                    const char *tx,
                    struct sim_dml_error *err);
/* Restores a deleted record from the recycle bin. */
bool sim_rec_undelete(struct sim *sim,
                      struct sim_rec *r,
                      const char *user_id,
                      const char *tx,
                      struct sim_dml_error *err);
/*
 * A transaction (allOrNone composite and collections): holds the store lock
 * until it ends; changes made inside it keep each record's earlier state and
 * their notifications wait. sim_store_tx_end() with @commit delivers the
 * notifications; without, it undoes every change (records created inside
 * are removed) and drops them, as Salesforce publishes nothing for a
 * rolled-back transaction. Transactions nest; the outermost decides.
 */
void sim_store_tx_begin(struct sim *sim);
void sim_store_tx_end(struct sim *sim, bool commit);
/* Removes @r for good (composite rollback); @r is freed. */
void sim_rec_purge(struct sim *sim, struct sim_rec *r);
/* Deletes non-seed records and undoes nothing else. */
void sim_store_reset(struct sim *sim);
/* Wall-clock ms of the last purge (start, or the last reset): deleted
 * records before it are gone for good. Call with the store lock held. */
int64_t sim_store_purged_ms(struct sim *sim);
/* A copy of @r with only @fields (NULL = all), "attributes" first. */
cJSON *sim_rec_view(struct sim *sim,
                    const struct sim_rec *r,
                    const char *const *fields,
                    size_t n_fields,
                    const char *version);

/*
 * Validation of field values (validate.c): checks names, access, types,
 * lengths, picklists of a request body and returns the values with
 * canonical names and coerced types (caller deletes), or NULL with @err.
 */
cJSON *sim_validate_fields(struct sim *sim,
                           struct sim_object *o,
                           const cJSON *fields,
                           bool create,
                           struct sim_dml_error *err);
bool sim_validate_required(struct sim_object *o,
                           const cJSON *record,
                           struct sim_dml_error *err);
/* FIELD_CUSTOM_VALIDATION_EXCEPTION when a validation rule matches. */
bool sim_validate_rules(const struct sim_object *o,
                        const cJSON *record,
                        struct sim_dml_error *err);
bool sim_validate_unique(struct sim *sim,
                         struct sim_object *o,
                         const cJSON *record,
                         const char *self_id,
                         struct sim_dml_error *err);
/* PushTopic rules (pushtopic.c), on the merged record. */
bool sim_pushtopic_validate(struct sim *sim,
                            cJSON *record,
                            struct sim_dml_error *err);

void sim_dml_error_set(struct sim_dml_error *e,
                       int status,
                       const char *code,
                       const char *field,
                       const char *fmt,
                       ...) __attribute__((format(printf, 5, 6)));

#endif
