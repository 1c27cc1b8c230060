/*
 * validate.c - field-level DML validation with Salesforce's error codes and
 * texts: unknown/read-only fields, types, lengths, picklists, required and
 * unique fields.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "sfc/common.h"

static bool is_text(enum sim_ftype t)
{
    return t == SIM_F_STRING || t == SIM_F_TEXTAREA || t == SIM_F_EMAIL ||
           t == SIM_F_PHONE || t == SIM_F_URL || t == SIM_F_PICKLIST;
}

static bool is_number(enum sim_ftype t)
{
    return t == SIM_F_DOUBLE || t == SIM_F_INT || t == SIM_F_CURRENCY ||
           t == SIM_F_PERCENT;
}

static void
deser_error(struct sim_dml_error *err, const char *type, const cJSON *v)
{
    const char *tok = cJSON_IsObject(v)   ? "START_OBJECT"
                      : cJSON_IsArray(v)  ? "START_ARRAY"
                      : cJSON_IsString(v) ? "VALUE_STRING"
                      : cJSON_IsBool(v)   ? "VALUE_TRUE"
                                          : "VALUE_NUMBER";
    sim_dml_error_set(err, 400, "JSON_PARSER_ERROR", NULL,
                      "Cannot deserialize instance of %s from %s value %s "
                      "or request may be missing a required field",
                      type, tok, cJSON_IsString(v) ? v->valuestring : "");
}

static cJSON *coerce_text(const struct sim_field *f,
                          const cJSON *v,
                          struct sim_dml_error *err)
{
    char buf[64];
    const char *s;
    size_t i;

    if (cJSON_IsNumber(v)) {
        snprintf(buf, sizeof(buf), "%.15g", v->valuedouble);
        s = buf;
    } else if (cJSON_IsBool(v)) {
        s = cJSON_IsTrue(v) ? "true" : "false";
    } else if (cJSON_IsString(v)) {
        s = v->valuestring;
    } else {
        deser_error(err, "string", v);
        return NULL;
    }
    if (f->length > 0 && (int)strlen(s) > f->length) {
        sim_dml_error_set(err, 400, "STRING_TOO_LONG", f->name,
                          "%s: data value too large: %.80s (max length=%d)",
                          f->label, s, f->length);
        return NULL;
    }
    if (f->type == SIM_F_EMAIL && s[0] && !strchr(s, '@')) {
        sim_dml_error_set(err, 400, "INVALID_EMAIL_ADDRESS", f->name,
                          "%s: invalid email address: %.80s", f->label, s);
        return NULL;
    }
    if (f->type == SIM_F_PICKLIST && f->restricted && s[0]) {
        for (i = 0; i < f->n_picklist; i++)
            if (strcmp(f->picklist[i], s) == 0)
                break;
        if (i == f->n_picklist) {
            sim_dml_error_set(
                err, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f->name,
                "%s: bad value for restricted picklist field: "
                "%.80s",
                f->label, s);
            return NULL;
        }
    }
    return s[0] ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *
coerce(const struct sim_field *f, const cJSON *v, struct sim_dml_error *err)
{
    char id18[19];
    int64_t ms;

    if (cJSON_IsNull(v))
        return cJSON_CreateNull();
    if (is_text(f->type))
        return coerce_text(f, v, err);
    if (f->type == SIM_F_BOOLEAN) {
        if (cJSON_IsBool(v))
            return cJSON_CreateBool(cJSON_IsTrue(v));
        if (cJSON_IsString(v) && (strcasecmp(v->valuestring, "true") == 0 ||
                                  strcasecmp(v->valuestring, "false") == 0))
            return cJSON_CreateBool(strcasecmp(v->valuestring, "true") == 0);
        deser_error(err, "boolean", v);
        return NULL;
    }
    if (is_number(f->type)) {
        char *end = NULL;
        double d;
        if (cJSON_IsNumber(v))
            return cJSON_CreateNumber(v->valuedouble);
        if (cJSON_IsString(v) && v->valuestring[0]) {
            d = strtod(v->valuestring, &end);
            if (end && *end == '\0')
                return cJSON_CreateNumber(d);
        }
        deser_error(err, "double", v);
        return NULL;
    }
    if (f->type == SIM_F_REFERENCE || f->type == SIM_F_ID) {
        if (cJSON_IsString(v) && !v->valuestring[0])
            return cJSON_CreateNull();
        if (!cJSON_IsString(v) || !sim_id_normalize(v->valuestring, id18)) {
            sim_dml_error_set(err, 400, "MALFORMED_ID", f->name,
                              "%s: id value of incorrect type: %.40s", f->label,
                              cJSON_IsString(v) ? v->valuestring : "");
            return NULL;
        }
        return cJSON_CreateString(id18);
    }
    /* date / datetime */
    if (!cJSON_IsString(v) || !sim_parse_datetime(v->valuestring, &ms)) {
        sim_dml_error_set(err, 400, "JSON_PARSER_ERROR", NULL,
                          "Cannot deserialize instance of %s from %s",
                          f->type == SIM_F_DATE ? "date" : "datetime",
                          cJSON_IsString(v) ? v->valuestring : "value");
        return NULL;
    }
    if (f->type == SIM_F_DATE)
        return cJSON_CreateString(v->valuestring);
    {
        char ts[32];
        sim_format_datetime(ms, ts);
        return cJSON_CreateString(ts);
    }
}

cJSON *sim_validate_fields(struct sim *sim,
                           struct sim_object *o,
                           const cJSON *fields,
                           bool create,
                           struct sim_dml_error *err)
{
    cJSON *out;
    const cJSON *it;

    (void)sim;
    if (!cJSON_IsObject(fields)) {
        sim_dml_error_set(err, 400, "JSON_PARSER_ERROR", NULL,
                          "Cannot deserialize instance of %s from %s token",
                          o->name,
                          cJSON_IsArray(fields) ? "START_ARRAY" : "VALUE");
        return NULL;
    }
    out = cJSON_CreateObject();
    cJSON_ArrayForEach(it, fields)
    {
        const struct sim_field *f;
        cJSON *v;

        if (strcmp(it->string, "attributes") == 0)
            continue;
        if (!create && strcasecmp(it->string, "Id") == 0)
            continue;
        f = sim_field_find(o, it->string);
        if (!f) {
            sim_dml_error_set(err, 400, "INVALID_FIELD", NULL,
                              "No such column '%s' on sobject of type %s",
                              it->string, o->name);
            goto out_fail;
        }
        if (create ? !f->createable : !f->updateable) {
            sim_dml_error_set(err, 400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                              f->name,
                              "Unable to create/update fields: %s. Please "
                              "check the security settings of this field "
                              "and verify that it is read/write for your "
                              "profile or permission set.",
                              f->name);
            goto out_fail;
        }
        v = coerce(f, it, err);
        if (!v)
            goto out_fail;
        cJSON_DeleteItemFromObjectCaseSensitive(out, f->name);
        cJSON_AddItemToObject(out, f->name, v);
    }
    return out;
out_fail:
    cJSON_Delete(out);
    return NULL;
}

static bool empty(const cJSON *v)
{
    return !v || cJSON_IsNull(v) ||
           (cJSON_IsString(v) && v->valuestring[0] == '\0');
}

bool sim_validate_required(struct sim_object *o,
                           const cJSON *record,
                           struct sim_dml_error *err)
{
    char names[400] = "";
    const char *first = NULL;
    size_t i;

    for (i = 0; i < o->n_fields; i++) {
        const struct sim_field *f = &o->fields[i];
        if (!f->required ||
            !empty(cJSON_GetObjectItemCaseSensitive(record, f->name)))
            continue;
        if (!first)
            first = f->name;
        else
            strncat(names, ", ", sizeof(names) - strlen(names) - 1);
        strncat(names, f->name, sizeof(names) - strlen(names) - 1);
    }
    if (!first)
        return true;
    sim_dml_error_set(err, 400, "REQUIRED_FIELD_MISSING", first,
                      "Required fields are missing: [%s]", names);
    return false;
}

bool sim_validate_rules(const struct sim_object *o,
                        const cJSON *record,
                        struct sim_dml_error *err)
{
    size_t i;
    for (i = 0; i < o->n_rules; i++) {
        if (sim_soql_match(o->rules[i].when, record)) {
            sim_dml_error_set(err, 400, "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                              o->rules[i].field, "%s", o->rules[i].message);
            return false;
        }
    }
    return true;
}

bool sim_validate_unique(struct sim *sim,
                         struct sim_object *o,
                         const cJSON *record,
                         const char *self_id,
                         struct sim_dml_error *err)
{
    size_t i, j;

    (void)sim;
    for (i = 0; i < o->n_fields; i++) {
        const struct sim_field *f = &o->fields[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(record, f->name);
        if (!f->unique || !cJSON_IsString(v) || !v->valuestring[0])
            continue;
        for (j = 0; j < o->n_recs; j++) {
            const struct sim_rec *r = o->recs[j];
            const cJSON *w;
            if (r->deleted || (self_id && strcmp(r->id, self_id) == 0))
                continue;
            w = cJSON_GetObjectItemCaseSensitive(r->data, f->name);
            if (cJSON_IsString(w) &&
                strcasecmp(w->valuestring, v->valuestring) == 0) {
                sim_dml_error_set(err, 400, "DUPLICATE_VALUE", NULL,
                                  "duplicate value found: %s duplicates "
                                  "value on record with id: %s",
                                  f->name, r->id);
                return false;
            }
        }
    }
    return true;
}
