/*
 * schema.c - built-in sObject schema and seed-declared custom objects.
 *
 * Built-in fields are declared as compact strings "Name|type|length|flags|
 * extra" where flags are R required, X external id, U unique, O read-only,
 * T/F boolean default true/false, D picklist default = first value,
 * ! restricted picklist; extra is the picklist values (comma separated) or
 * "Target/Relationship" for references.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "sfc/common.h"

struct builtin {
    const char *name;
    const char *prefix;
    bool has_name;
    const char *const *fields;
};

static const char *const ACCOUNT[] = {
    "Name|string|255|R|",
    "AccountNumber|string|40||",
    "Type|picklist|255||Prospect,Customer - Direct,Customer - Channel,Other",
    "Industry|picklist|255||Agriculture,Banking,Technology,Other",
    "Phone|phone|40||",
    "Website|url|255||",
    "BillingCity|string|40||",
    "Description|textarea|32000||",
    "NumberOfEmployees|int|8||",
    "AnnualRevenue|currency|18||",
    "ParentId|reference|18||Account/Parent",
    "OwnerId|reference|18||User/Owner",
    NULL};

static const char *const CONTACT[] = {
    "FirstName|string|40||",
    "LastName|string|80|R|",
    "Name|string|121|O|",
    "Email|email|80||",
    "Phone|phone|40||",
    "Title|string|128||",
    "MailingCity|string|40||",
    "Description|textarea|32000||",
    "AccountId|reference|18||Account/Account",
    "RecordTypeId|reference|18||RecordType/RecordType",
    "OwnerId|reference|18||User/Owner",
    NULL};

static const char *const LEAD[] = {
    "FirstName|string|40||",
    "LastName|string|80|R|",
    "Name|string|121|O|",
    "Company|string|255|R|",
    "Email|email|80||",
    "Phone|phone|40||",
    "Title|string|128||",
    "Status|picklist|255|D|Open - Not Contacted,Working - Contacted,"
    "Closed - Converted,Closed - Not Converted",
    "LeadSource|picklist|255||Web,Phone Inquiry,Partner Referral,Other",
    "IsConverted|boolean|0|F|",
    "RecordTypeId|reference|18||RecordType/RecordType",
    "OwnerId|reference|18||User/Owner",
    NULL};

static const char *const OPPORTUNITY[] = {
    "Name|string|120|R|",
    "StageName|picklist|255|R|Prospecting,Qualification,Closed Won,"
    "Closed Lost",
    "CloseDate|date|0|R|",
    "Amount|currency|18||",
    "Probability|percent|3||",
    "AccountId|reference|18||Account/Account",
    "OwnerId|reference|18||User/Owner",
    NULL};

static const char *const CASE_[] = {
    "CaseNumber|string|30|O|",
    "Subject|string|255||",
    "Status|picklist|255|D|New,Working,Escalated,Closed",
    "Priority|picklist|255|D|Medium,High,Low",
    "Origin|picklist|255||Phone,Email,Web",
    "Description|textarea|32000||",
    "IsClosed|boolean|0|OF|",
    "ContactId|reference|18||Contact/Contact",
    "AccountId|reference|18||Account/Account",
    "OwnerId|reference|18||User/Owner",
    NULL};

static const char *const USER[] = {"Username|string|80|RU|",
                                   "FirstName|string|40||",
                                   "LastName|string|80|R|",
                                   "Name|string|121|O|",
                                   "Email|email|128|R|",
                                   "Alias|string|8||",
                                   "IsActive|boolean|0|T|",
                                   "TimeZoneSidKey|string|40||",
                                   NULL};

static const char *const RECORDTYPE[] = {
    "Name|string|80|R|",        "DeveloperName|string|80|R|",
    "SobjectType|string|40|R|", "Description|string|255||",
    "IsActive|boolean|0|T|",    NULL};

static const char *const PUSHTOPIC[] = {
    "Name|string|25|RU|",
    "Query|string|1300|R|",
    "ApiVersion|double|0|R|",
    "NotifyForFields|picklist|40|!|Referenced,All,Select,Where",
    "NotifyForOperationCreate|boolean|0|T|",
    "NotifyForOperationUpdate|boolean|0|T|",
    "NotifyForOperationDelete|boolean|0|T|",
    "NotifyForOperationUndelete|boolean|0|T|",
    "NotifyForOperations|string|40|O|",
    "IsActive|boolean|0|T|",
    "Description|string|400||",
    NULL};

static const char *const STREAMINGCHANNEL[] = {"Name|string|80|RU|",
                                               "Description|string|255||",
                                               "IsDynamic|boolean|0|F|", NULL};

static const struct builtin BUILTINS[] = {
    {"Account", "001", false, ACCOUNT},
    {"Contact", "003", true, CONTACT},
    {"Lead", "00Q", true, LEAD},
    {"Opportunity", "006", false, OPPORTUNITY},
    {"Case", "500", false, CASE_},
    {"User", "005", true, USER},
    {"RecordType", "012", false, RECORDTYPE},
    {"PushTopic", "0PT", false, PUSHTOPIC},
    {"StreamingChannel", "0M6", false, STREAMINGCHANNEL},
};

static const char *const TYPE_NAMES[] = {
    "id",       "string",   "textarea", "email",    "phone",
    "url",      "picklist", "boolean",  "double",   "int",
    "currency", "percent",  "date",     "datetime", "reference"};

const char *sim_ftype_name(enum sim_ftype t)
{
    return TYPE_NAMES[t];
}

static bool ftype_parse(const char *s, enum sim_ftype *out)
{
    size_t i;
    for (i = 0; i < sizeof(TYPE_NAMES) / sizeof(TYPE_NAMES[0]); i++) {
        if (strcasecmp(s, TYPE_NAMES[i]) == 0) {
            *out = (enum sim_ftype)i;
            return true;
        }
    }
    if (strcasecmp(s, "text") == 0) {
        *out = SIM_F_STRING;
        return true;
    }
    if (strcasecmp(s, "number") == 0) {
        *out = SIM_F_DOUBLE;
        return true;
    }
    return false;
}

static struct sim_field *
add_field(struct sim_object *o, const char *name, enum sim_ftype t)
{
    struct sim_field *f;
    o->fields = sfc_xrealloc(o->fields, (o->n_fields + 1) * sizeof(*f));
    f = &o->fields[o->n_fields++];
    memset(f, 0, sizeof(*f));
    f->name = sfc_xstrdup(name);
    f->label = sfc_xstrdup(name);
    f->type = t;
    f->createable = f->updateable = true;
    return f;
}

static void add_picklist(struct sim_field *f, const char *csv)
{
    char *copy = sfc_xstrdup(csv), *save = NULL, *tok;
    for (tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        f->picklist =
            sfc_xrealloc(f->picklist, (f->n_picklist + 1) * sizeof(char *));
        f->picklist[f->n_picklist++] = sfc_xstrdup(tok);
    }
    free(copy);
}

static void add_reference(struct sim_field *f, const char *spec)
{
    const char *slash = strchr(spec, '/');
    if (!slash)
        return;
    f->reference_to = sfc_xstrndup(spec, (size_t)(slash - spec));
    f->relationship = sfc_xstrdup(slash + 1);
}

/* Parses one "Name|type|length|flags|extra" line. */
static void add_builtin_field(struct sim_object *o, const char *line)
{
    char *copy = sfc_xstrdup(line);
    char *parts[5] = {0};
    char *p = copy;
    struct sim_field *f;
    enum sim_ftype t = SIM_F_STRING;
    int i;

    for (i = 0; i < 5; i++) {
        parts[i] = p;
        p = p ? strchr(p, '|') : NULL;
        if (p)
            *p++ = '\0';
    }
    ftype_parse(parts[1], &t);
    f = add_field(o, parts[0], t);
    f->length = atoi(parts[2]);
    f->required = strchr(parts[3], 'R') != NULL;
    f->external_id = strchr(parts[3], 'X') != NULL;
    f->unique = strchr(parts[3], 'U') != NULL;
    f->restricted = strchr(parts[3], '!') != NULL;
    if (strchr(parts[3], 'O'))
        f->createable = f->updateable = false;
    if (strchr(parts[3], 'T'))
        f->default_value = cJSON_CreateTrue();
    if (strchr(parts[3], 'F'))
        f->default_value = cJSON_CreateFalse();
    if (t == SIM_F_PICKLIST && parts[4] && parts[4][0])
        add_picklist(f, parts[4]);
    if ((strchr(parts[3], 'D') || f->restricted) && f->n_picklist)
        f->default_value = cJSON_CreateString(f->picklist[0]);
    if (t == SIM_F_REFERENCE && parts[4])
        add_reference(f, parts[4]);
    free(copy);
}

/*
 * System fields: records have Id, IsDeleted, CreatedDate, LastModifiedDate,
 * SystemModstamp, CreatedById, LastModifiedById. A platform event is
 * published, never modified or deleted: CreatedDate, CreatedById, ReplayId
 * and EventUuid (Id only names the publish result).
 */
static void add_system_fields(struct sim_object *o)
{
    struct sim_field *f;
    const char *rec_dt[] = {"CreatedDate", "LastModifiedDate",
                            "SystemModstamp"};
    const char *rec_refs[] = {"CreatedById", "LastModifiedById"};
    const char *ev_str[] = {"ReplayId", "EventUuid"};
    size_t i, n_dt = o->is_event ? 1 : 3, n_refs = o->is_event ? 1 : 2;

    f = add_field(o, "Id", SIM_F_ID);
    f->length = 18;
    f->createable = f->updateable = false;
    if (!o->is_event) {
        f = add_field(o, "IsDeleted", SIM_F_BOOLEAN);
        f->createable = f->updateable = false;
    }
    for (i = 0; i < n_dt; i++) {
        f = add_field(o, rec_dt[i], SIM_F_DATETIME);
        f->createable = f->updateable = false;
    }
    for (i = 0; i < n_refs; i++) {
        f = add_field(o, rec_refs[i], SIM_F_REFERENCE);
        f->length = 18;
        f->createable = f->updateable = false;
        f->reference_to = sfc_xstrdup("User");
        f->relationship = sfc_xstrndup(rec_refs[i], strlen(rec_refs[i]) - 2);
    }
    for (i = 0; o->is_event && i < 2; i++) {
        f = add_field(o, ev_str[i], SIM_F_STRING);
        f->length = 255;
        f->createable = f->updateable = false;
    }
}

static struct sim_object *
add_object(struct sim *sim, const char *name, const char *prefix, bool is_event)
{
    struct sim_object *o = sfc_xcalloc(1, sizeof(*o));
    o->name = sfc_xstrdup(name);
    o->label = sfc_xstrdup(name);
    o->is_event = is_event;
    snprintf(o->prefix, sizeof(o->prefix), "%s", prefix);
    sim_store_add_object(sim, o);
    add_system_fields(o);
    return o;
}

void sim_schema_builtin(struct sim *sim)
{
    size_t i, j;
    for (i = 0; i < sizeof(BUILTINS) / sizeof(BUILTINS[0]); i++) {
        struct sim_object *o =
            add_object(sim, BUILTINS[i].name, BUILTINS[i].prefix, false);
        o->has_name = BUILTINS[i].has_name;
        for (j = 0; BUILTINS[i].fields[j]; j++)
            add_builtin_field(o, BUILTINS[i].fields[j]);
    }
}

struct sim_field *sim_field_find(const struct sim_object *o, const char *name)
{
    size_t i;
    for (i = 0; i < o->n_fields; i++)
        if (strcasecmp(o->fields[i].name, name) == 0)
            return &o->fields[i];
    return NULL;
}

static void declare_field(struct sim_object *o, const cJSON *fd)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(fd, "name");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(fd, "type");
    const cJSON *len = cJSON_GetObjectItemCaseSensitive(fd, "length");
    const cJSON *pick = cJSON_GetObjectItemCaseSensitive(fd, "picklist");
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(fd, "referenceTo");
    enum sim_ftype t = SIM_F_STRING;
    struct sim_field *f;
    const cJSON *it;

    if (!cJSON_IsString(name) || sim_field_find(o, name->valuestring))
        return;
    if (cJSON_IsString(type))
        ftype_parse(type->valuestring, &t);
    f = add_field(o, name->valuestring, t);
    f->length = cJSON_IsNumber(len) ? len->valueint
                : t == SIM_F_STRING ? 255
                                    : 0;
    f->required = cJSON_IsTrue(cJSON_GetObjectItem(fd, "required"));
    f->external_id = cJSON_IsTrue(cJSON_GetObjectItem(fd, "externalId"));
    f->unique = cJSON_IsTrue(cJSON_GetObjectItem(fd, "unique"));
    f->restricted = cJSON_IsTrue(cJSON_GetObjectItem(fd, "restricted"));
    cJSON_ArrayForEach(it, pick)
    {
        if (!cJSON_IsString(it))
            continue;
        f->picklist =
            sfc_xrealloc(f->picklist, (f->n_picklist + 1) * sizeof(char *));
        f->picklist[f->n_picklist++] = sfc_xstrdup(it->valuestring);
    }
    if (cJSON_GetObjectItem(fd, "default"))
        f->default_value =
            cJSON_Duplicate(cJSON_GetObjectItem(fd, "default"), true);
    if (cJSON_IsString(ref)) {
        f->reference_to = sfc_xstrdup(ref->valuestring);
        size_t nl = strlen(f->name);
        if (nl > 3 && strcmp(f->name + nl - 3, "__c") == 0)
            f->relationship = sfc_xasprintf("%.*s__r", (int)(nl - 3), f->name);
        else if (nl > 2 && strcmp(f->name + nl - 2, "Id") == 0)
            f->relationship = sfc_xstrndup(f->name, nl - 2);
    }
}

/* "validationRules": [{"condition": "<WHERE>", "message", "field"}] */
static int
declare_rules(struct sim_object *o, const cJSON *rules, char *errstr, size_t sz)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, rules)
    {
        const cJSON *cond = cJSON_GetObjectItemCaseSensitive(r, "condition");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(r, "message");
        const cJSON *fld = cJSON_GetObjectItemCaseSensitive(r, "field");
        struct sim_rule *rule;
        char *q, err[512];

        if (!cJSON_IsString(cond) || !cJSON_IsString(msg)) {
            sfc_errstr_set(errstr, sz, "%s: rule needs condition and message",
                           o->name);
            return -1;
        }
        q = sfc_xasprintf("SELECT Id FROM %s WHERE %s", o->name,
                          cond->valuestring);
        o->rules = sfc_xrealloc(o->rules, (o->n_rules + 1) * sizeof(*rule));
        rule = &o->rules[o->n_rules];
        rule->when = sim_soql_parse(q, err, sizeof(err), NULL);
        free(q);
        if (!rule->when) {
            sfc_errstr_set(errstr, sz, "%s: bad rule condition %s", o->name,
                           cond->valuestring);
            return -1;
        }
        rule->message = sfc_xstrdup(msg->valuestring);
        rule->field =
            cJSON_IsString(fld) ? sfc_xstrdup(fld->valuestring) : NULL;
        o->n_rules++;
    }
    return 0;
}

int sim_schema_declare(struct sim *sim,
                       const cJSON *decl,
                       char *errstr,
                       size_t sz)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(decl, "name");
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(decl, "prefix");
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(decl, "fields");
    struct sim_object *o;
    const cJSON *fd;
    size_t n;

    if (!cJSON_IsString(name) || !name->valuestring[0]) {
        sfc_errstr_set(errstr, sz, "object without \"name\"");
        return -1;
    }
    o = sim_object_find(sim, name->valuestring);
    if (!o) {
        char pfx[4];
        n = strlen(name->valuestring);
        if (n < 4 || (strcmp(name->valuestring + n - 3, "__c") != 0 &&
                      strcmp(name->valuestring + n - 3, "__e") != 0)) {
            sfc_errstr_set(errstr, sz,
                           "custom object %s must end in __c "
                           "or __e",
                           name->valuestring);
            return -1;
        }
        snprintf(pfx, sizeof(pfx), "a%02zu", sim_object_count(sim));
        o = add_object(sim, name->valuestring,
                       cJSON_IsString(prefix) ? prefix->valuestring : pfx,
                       strcmp(name->valuestring + n - 3, "__e") == 0);
        o->custom = true;
        if (!o->is_event) {
            add_builtin_field(o, "Name|string|80||");
            add_builtin_field(o, "OwnerId|reference|18||User/Owner");
        }
    }
    cJSON_ArrayForEach(fd, fields) declare_field(o, fd);
    return declare_rules(
        o, cJSON_GetObjectItemCaseSensitive(decl, "validationRules"), errstr,
        sz);
}
