/*
 * Nameko YAML (+ Python source) -> sfconnector configuration (see
 * nameko_import.h). The settings are tables: a row per Nameko setting
 * saying where it goes, so an unmapped one is always named.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "config_report.h"
#include "nameko_import.h"
#include "nameko_pysrc.h"

enum section {
    S_SERVICE,
    S_SALESFORCE,
    S_AMQP,
    S_STREAMING,
    S_RPC,
    S_LOG,
    S_N
};

static const char *const section_names[S_N] = {
    "service", "salesforce", "amqp", "streaming", "rpc", "log"};

struct import {
    yaml_document_t doc;
    struct sfc_buf sec[S_N];    /* "  key = value;\n" lines */
    struct sfc_buf entrypoints; /* "    { ... }" entries, ",\n"-joined */
    struct sfc_buf left_out;    /* entries that lack a value, commented */
    struct sfc_buf unmapped;    /* "# not mapped: ...\n" lines */
    size_t n_unmapped;
    char *service; /* from the Python source, or NULL */
    const char *service_from;
};

static void unmapped(struct import *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void unmapped(struct import *im, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    sfc_buf_appendf(&im->unmapped, "# not mapped: %s\n", line);
    im->n_unmapped++;
}

/* @s as a libconfig string literal. */
static void quote(struct sfc_buf *b, const char *s, size_t n)
{
    sfc_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            sfc_buf_append(b, "\\", 1);
        if (s[i] == '\n')
            sfc_buf_append(b, "\\n", 2);
        else
            sfc_buf_append(b, &s[i], 1);
    }
    sfc_buf_append(b, "\"", 1);
}

/* YAML helpers. ------------------------------------------------------- */

static yaml_node_t *node(struct import *im, int i)
{
    return i ? yaml_document_get_node(&im->doc, i) : NULL;
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
                                            : NULL;
}

static bool plain(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE &&
           n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static yaml_node_t *member(struct import *im, yaml_node_t *map, const char *k)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        const char *key = scalar(node(im, p->key));

        if (key && strcmp(key, k) == 0)
            return node(im, p->value);
    }
    return NULL;
}

/* A YAML 1.1 boolean as Nameko's loader reads it: 1 true, 0 false, -1 no. */
static int yaml_bool(const yaml_node_t *n)
{
    static const char *const yes[] = {"true", "yes", "on", "y"};
    static const char *const no[] = {"false", "no", "off", "n"};
    const char *s = scalar(n);

    for (size_t i = 0; s && plain(n) && i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

static bool has_reference(const yaml_node_t *n)
{
    return scalar(n) && strstr(scalar(n), "${");
}

/* Writers of one key. -------------------------------------------------- */

static void put_raw(struct import *im,
                    enum section s,
                    const char *key,
                    const char *value,
                    const char *note)
{
    sfc_buf_appendf(&im->sec[s], "  %s = %s;%s%s\n", key, value,
                    note ? "  # " : "", note ? note : "");
}

static void put_str(struct import *im,
                    enum section s,
                    const char *key,
                    const char *value,
                    const char *note)
{
    struct sfc_buf b;

    sfc_buf_init(&b, 0);
    quote(&b, value, strlen(value));
    put_raw(im, s, key, b.data, note);
    sfc_buf_free(&b);
}

/* A YAML scalar as a string key; a ${VAR} reference stays for our loader. */
static bool put_scalar(struct import *im,
                       enum section s,
                       const char *key,
                       const yaml_node_t *n,
                       const char *setting)
{
    if (!scalar(n)) {
        unmapped(im, "%s: expected a single value", setting);
        return false;
    }
    put_str(im, s, key, scalar(n), NULL);
    return true;
}

static bool put_bool(struct import *im,
                     enum section s,
                     const char *key,
                     const yaml_node_t *n,
                     const char *setting)
{
    int v = yaml_bool(n);

    if (v >= 0) {
        put_raw(im, s, key, v ? "true" : "false", NULL);
        return true;
    }
    if (has_reference(n)) /* our loader reads "${VAR}" for a boolean too */
        return put_scalar(im, s, key, n, setting);
    unmapped(im, "%s: \"%s\" is not a boolean", setting,
             scalar(n) ? scalar(n) : "?");
    return false;
}

static bool put_int(struct import *im,
                    enum section s,
                    const char *key,
                    const yaml_node_t *n,
                    const char *setting)
{
    const char *v = scalar(n);

    if (v && plain(n) && *v && strspn(v, "0123456789") == strlen(v)) {
        put_raw(im, s, key, v, NULL);
        return true;
    }
    if (has_reference(n))
        return put_scalar(im, s, key, n, setting);
    unmapped(im, "%s: \"%s\" is not a whole number", setting, v ? v : "?");
    return false;
}

/* Top-level Nameko settings. ------------------------------------------- */

typedef void (*map_fn)(struct import *im, yaml_node_t *n, const char *setting);

/* A row: a setting and what becomes of it (map NULL: @why says why it has
 * no counterpart). */
struct setting {
    const char *name;
    map_fn map;
    const char *why;
};

static void map_amqp_uri(struct import *im, yaml_node_t *n, const char *name)
{
    const char *v = scalar(n);
    const char *rest;

    if (!v) {
        unmapped(im, "%s: expected a URI", name);
        return;
    }
    /* kombu's transport names for the AMQP 0-9-1 it speaks. */
    if ((rest = strstr(v, "://")) &&
        (strncmp(v, "pyamqp", 6) == 0 || strncmp(v, "librabbitmq", 11) == 0)) {
        char *uri = sfc_xconcat("amqp", rest, NULL);

        put_str(im, S_AMQP, "uri", uri, "kombu's pyamqp:// is amqp://");
        free(uri);
        return;
    }
    put_scalar(im, S_AMQP, "uri", n, name);
}

static void map_amqp_ssl(struct import *im, yaml_node_t *n, const char *name)
{
    static const struct {
        const char *from, *to;
    } files[] = {{"ca_certs", "ca_file"},
                 {"certfile", "cert_file"},
                 {"keyfile", "key_file"}};

    if (yaml_bool(n) >= 0) {
        if (yaml_bool(n))
            unmapped(im, "%s: true: write amqps:// in amqp.uri", name);
        return;
    }
    if (!n || n->type != YAML_MAPPING_NODE) {
        unmapped(im, "%s: expected true or a mapping of ssl options", name);
        return;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(node(im, p->key));
        yaml_node_t *v = node(im, p->value);
        bool done = false;

        for (size_t i = 0; k && i < 3; i++)
            if (strcmp(k, files[i].from) == 0)
                done = put_scalar(im, S_AMQP, files[i].to, v, name);
        if (k && strcmp(k, "cert_reqs") == 0) {
            bool none = scalar(v) && strstr(scalar(v), "CERT_NONE");

            put_raw(im, S_AMQP, "verify_peer", none ? "false" : "true", NULL);
            done = true;
        }
        if (!done)
            unmapped(im, "%s.%s: no such TLS option in sfconnector", name,
                     k ? k : "?");
    }
}

static void map_heartbeat(struct import *im, yaml_node_t *n, const char *name)
{
    put_int(im, S_AMQP, "heartbeat", n, name);
}

static void map_auto_delete(struct import *im, yaml_node_t *n, const char *name)
{
    put_bool(im, S_AMQP, "exchange_auto_delete", n, name);
}

static void
map_declare_exchanges(struct import *im, yaml_node_t *n, const char *name)
{
    if (yaml_bool(n) != 0)
        return; /* true: what sfconnector does */
    unmapped(im,
             "%s: false: sfconnector always declares <service>.events "
             "(and uses an existing one as it is)",
             name);
}

static void map_json_only(struct import *im, yaml_node_t *n, const char *name)
{
    const char *v = scalar(n);

    if (v && strcmp(v, "json") == 0)
        return;
    if (n && n->type == YAML_SEQUENCE_NODE &&
        n->data.sequence.items.top - n->data.sequence.items.start == 1 &&
        scalar(node(im, *n->data.sequence.items.start)) &&
        strcmp(scalar(node(im, *n->data.sequence.items.start)), "json") == 0)
        return;
    unmapped(im, "%s: sfconnector speaks JSON only", name);
}

static void
map_rpc_exchange(struct import *im, yaml_node_t *n, const char *name)
{
    if (scalar(n) && strcmp(scalar(n), "nameko-rpc") == 0)
        return;
    unmapped(im, "%s: sfconnector's RPC uses the nameko-rpc exchange", name);
}

/* Python logging's level names -> log.level. */
static void map_logging(struct import *im, yaml_node_t *n, const char *name)
{
    static const struct {
        const char *py, *ours;
    } levels[] = {{"DEBUG", "debug"},  {"INFO", "info"},
                  {"WARNING", "warn"}, {"WARN", "warn"},
                  {"ERROR", "error"},  {"CRITICAL", "error"}};
    const char *level = scalar(member(im, member(im, n, "root"), "level"));

    for (size_t i = 0; level && i < sizeof(levels) / sizeof(levels[0]); i++)
        if (strcasecmp(level, levels[i].py) == 0) {
            put_str(im, S_LOG, "level", levels[i].ours, "LOGGING.root.level");
            level = NULL;
            break;
        }
    if (level)
        unmapped(im, "%s.root.level: \"%s\" is not a level sfconnector has",
                 name, level);
    unmapped(im,
             "%s (handlers, formatters, loggers): sfconnector logs one "
             "line per record to log.file or stderr (log.format text or "
             "json)",
             name);
}

static void map_salesforce(struct import *im, yaml_node_t *n, const char *name);

static const struct setting top_settings[] = {
    {"AMQP_URI", map_amqp_uri, NULL},
    {"AMQP_SSL", map_amqp_ssl, NULL},
    {"HEARTBEAT", map_heartbeat, NULL},
    {"AUTO_DELETE_EVENT_EXCHANGES", map_auto_delete, NULL},
    {"DECLARE_EVENT_EXCHANGES", map_declare_exchanges, NULL},
    {"serializer", map_json_only, NULL},
    {"SERIALIZER", map_json_only, NULL},
    {"ACCEPT", map_json_only, NULL},
    {"rpc_exchange", map_rpc_exchange, NULL},
    {"LOGGING", map_logging, NULL},
    {"SALESFORCE", map_salesforce, NULL},
    {"max_workers", NULL,
     "a Nameko worker pool: sfconnector handles events on one dispatch "
     "thread, RPC calls with rpc.max_workers"},
    {"PREFETCH_COUNT", NULL,
     "consumer prefetch: sfconnector's RPC prefetch is rpc.max_workers"},
    {"PARENT_CALLS_TRACKED", NULL,
     "sfconnector starts every call id stack (one entry)"},
    {"TRANSPORT_OPTIONS", NULL, "kombu transport options"},
    {"SERIALIZERS", NULL, "sfconnector speaks JSON only"},
    {"WEB_SERVER_ADDRESS", NULL,
     "Nameko's HTTP entrypoints; sfconnector serves metrics.listen"},
};

/* SALESFORCE.*. --------------------------------------------------------- */

static void map_sf_string(struct import *im, yaml_node_t *n, const char *name)
{
    const char *key = strchr(name, '.') + 1;
    char lower[64];
    size_t i;

    for (i = 0; key[i] && i + 1 < sizeof(lower); i++)
        lower[i] = (char)tolower((unsigned char)key[i]);
    lower[i] = '\0';
    put_scalar(im, S_SALESFORCE, lower, n, name);
}

static void map_sandbox(struct import *im, yaml_node_t *n, const char *name)
{
    put_bool(im, S_SALESFORCE, "sandbox", n, name);
}

static void map_bayeux(struct import *im, yaml_node_t *n, const char *name)
{
    if (scalar(n) && strcmp(scalar(n), "1.0") == 0)
        return; /* what sfconnector speaks */
    unmapped(im, "%s: sfconnector speaks Bayeux 1.0", name);
}

static void map_replay_part(struct import *im, yaml_node_t *n, const char *name)
{
    /* Read together in map_replay(). */
    (void)im;
    (void)n;
    (void)name;
}

static const struct setting sf_settings[] = {
    {"SALESFORCE.USERNAME", map_sf_string, NULL},
    {"SALESFORCE.PASSWORD", map_sf_string, NULL},
    {"SALESFORCE.SECURITY_TOKEN", map_sf_string, NULL},
    {"SALESFORCE.SANDBOX", map_sandbox, NULL},
    {"SALESFORCE.API_VERSION", map_sf_string, NULL},
    {"SALESFORCE.BAYEUX_VERSION", map_bayeux, NULL},
    {"SALESFORCE.BAYEUX_MINIMUM_VERSION", map_bayeux, NULL},
    {"SALESFORCE.PUSHTOPIC_REPLAY_ENABLED", map_replay_part, NULL},
    {"SALESFORCE.PUSHTOPIC_REPLAY_REDIS_URI", map_replay_part, NULL},
    {"SALESFORCE.PUSHTOPIC_REPLAY_TTL", map_replay_part, NULL},
};

/* Runs the row of @table named @name, or says it has none. */
static void map_one(struct import *im,
                    const struct setting *table,
                    size_t n_rows,
                    const char *name,
                    yaml_node_t *value,
                    const char *none)
{
    for (size_t i = 0; i < n_rows; i++) {
        if (strcmp(table[i].name, name) != 0)
            continue;
        if (table[i].map)
            table[i].map(im, value, name);
        else
            unmapped(im, "%s: %s", name, table[i].why);
        return;
    }
    unmapped(im, "%s: %s", name, none);
}

/* nameko-salesforce keeps replay ids in Redis only when asked to. */
static void map_replay(struct import *im, yaml_node_t *sf)
{
    yaml_node_t *on = member(im, sf, "PUSHTOPIC_REPLAY_ENABLED");
    yaml_node_t *uri = member(im, sf, "PUSHTOPIC_REPLAY_REDIS_URI");
    yaml_node_t *ttl = member(im, sf, "PUSHTOPIC_REPLAY_TTL");

    if (on && yaml_bool(on) < 0 && !has_reference(on))
        unmapped(im,
                 "SALESFORCE.PUSHTOPIC_REPLAY_ENABLED: \"%s\" is not a "
                 "boolean",
                 scalar(on) ? scalar(on) : "?");
    if (!on || yaml_bool(on) == 0) {
        put_str(im, S_STREAMING, "replay_store", "memory",
                "no positions kept, as without PUSHTOPIC_REPLAY_ENABLED; "
                "\"file\" would resume after a restart");
        return;
    }
    put_str(im, S_STREAMING, "replay_store", "redis",
            yaml_bool(on) < 0 ? "PUSHTOPIC_REPLAY_ENABLED is a ${...}: taken "
                                "as true"
                              : "PUSHTOPIC_REPLAY_ENABLED");
    if (uri)
        put_scalar(im, S_STREAMING, "redis_uri", uri,
                   "SALESFORCE.PUSHTOPIC_REPLAY_REDIS_URI");
    else
        unmapped(im, "SALESFORCE.PUSHTOPIC_REPLAY_ENABLED: true without "
                     "PUSHTOPIC_REPLAY_REDIS_URI (nameko-salesforce refuses "
                     "it too)");
    put_str(im, S_STREAMING, "redis_key_prefix", "salesforce:replay_id",
            "nameko-salesforce's keys");
    if (ttl)
        put_int(im, S_STREAMING, "redis_ttl_s", ttl,
                "SALESFORCE.PUSHTOPIC_REPLAY_TTL");
    else
        put_raw(im, S_STREAMING, "redis_ttl_s", "43200",
                "nameko-salesforce's default TTL (12 h)");
}

static void map_salesforce(struct import *im, yaml_node_t *n, const char *name)
{
    if (!n || n->type != YAML_MAPPING_NODE) {
        unmapped(im, "%s: expected a mapping", name);
        return;
    }
    put_str(im, S_SALESFORCE, "auth", "soap",
            "nameko-salesforce logs in with SOAP login(); Salesforce retires "
            "it from API 65.0: prefer auth = \"password\" with client_id "
            "and client_secret");
    if (!member(im, n, "API_VERSION"))
        put_str(im, S_SALESFORCE, "api_version", "37.0",
                "nameko-salesforce's default");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(node(im, p->key));
        char full[128];

        snprintf(full, sizeof(full), "SALESFORCE.%s", k ? k : "?");
        map_one(im, sf_settings, sizeof(sf_settings) / sizeof(sf_settings[0]),
                full, node(im, p->value), "not a nameko-salesforce setting");
    }
    map_replay(im, n);
}

/* Entrypoints, from the service's decorators. -------------------------- */

/* An entrypoint argument's place: its keyword, its position in
 * nameko-salesforce's signature (-1: keyword only), our key, its kind. */
struct ep_arg {
    const char *py;
    int pos;
    const char *key;
    enum { A_STR, A_BOOL, A_FIELDS } type;
};

static const struct ep_arg subscribe_args[] = {
    {"channel_name", 0, "channel", A_STR}, {NULL, 0, NULL, A_STR}};

#define NOTIFY_ARGS(first)                                                     \
    {"notify_for_fields", (first), "notify_for_fields", A_FIELDS},             \
        {"notify_for_operation_create", (first) + 1,                           \
         "notify_for_operation_create", A_BOOL},                               \
        {"notify_for_operation_update", (first) + 2,                           \
         "notify_for_operation_update", A_BOOL},                               \
        {"notify_for_operation_delete", (first) + 3,                           \
         "notify_for_operation_delete", A_BOOL},                               \
    {                                                                          \
        "notify_for_operation_undelete", (first) + 4,                          \
            "notify_for_operation_undelete", A_BOOL                            \
    }

static const struct ep_arg notification_args[] = {{"name", 0, "name", A_STR},
                                                  {"query", 1, "query", A_STR},
                                                  NOTIFY_ARGS(2),
                                                  {NULL, 0, NULL, A_STR}};

static const struct ep_arg sobject_args[] = {
    {"sobject_type", 0, "sobject_type", A_STR},
    {"record_type", 1, "record_type", A_STR},
    {"declare", 2, "declare", A_BOOL},
    {"exclude_current_user", 3, "exclude_current_user", A_BOOL},
    NOTIFY_ARGS(4),
    {NULL, 0, NULL, A_STR}};

static const struct {
    const char *decorator;
    const struct ep_arg *args;
    const char *events; /* the routing keys the proxy publishes */
} ep_kinds[] = {
    {"subscribe", subscribe_args,
     "salesforce_<channel name>_<type>; set event_type to the name the "
     "handler dispatched"},
    {"handle_notification", notification_args,
     "salesforce_<sobject of the query>_<type>; set event_type to the name "
     "the handler dispatched"},
    {"handle_sobject_notification", sobject_args,
     "salesforce_<sobject_type lower case>_<type>, as nameko-salesforce's "
     "documented proxy dispatches"},
};

/* NotifyForFields.select / 'Select' -> "Select". */
static const char *fields_value(const struct py_arg *a)
{
    static const char *const names[] = {"All", "Referenced", "Select", "Where"};
    const char *v = a->text, *dot = strrchr(v, '.');

    if (a->type == PY_NAME && dot)
        v = dot + 1;
    else if (a->type != PY_STR)
        return NULL;
    for (size_t i = 0; i < 4; i++)
        if (strncasecmp(v, names[i], strlen(names[i])) == 0 &&
            (v[strlen(names[i])] == '\0' ||
             strcmp(v + strlen(names[i]), "_") == 0))
            return names[i];
    return NULL;
}

/* One argument into @b; false (named in the output) when it cannot be. */
static bool ep_value(struct import *im,
                     struct sfc_buf *b,
                     const struct ep_arg *spec,
                     const struct py_arg *a,
                     const char *where)
{
    const char *f;

    if (a->type == PY_NONE)
        return true;
    if (spec->type == A_STR && a->type == PY_STR) {
        sfc_buf_appendf(b, " %s = ", spec->key);
        quote(b, a->text, strlen(a->text));
        sfc_buf_append(b, ";", 1);
        return true;
    }
    if (spec->type == A_BOOL && (a->type == PY_TRUE || a->type == PY_FALSE)) {
        sfc_buf_appendf(b, " %s = %s;", spec->key,
                        a->type == PY_TRUE ? "true" : "false");
        return true;
    }
    if (spec->type == A_FIELDS && (f = fields_value(a))) {
        sfc_buf_appendf(b, " %s = \"%s\";", spec->key, f);
        return true;
    }
    unmapped(im, "%s: %s = %s: not a value sfconnector can read here", where,
             spec->py, a->text);
    return false;
}

static void
map_decorator(struct import *im, const char *file, const struct py_decorator *d)
{
    struct sfc_buf b;
    char where[512];
    size_t k = 0;
    bool whole = true;

    snprintf(where, sizeof(where), "%s:%d: @%s", file, d->line, d->name);
    while (strcmp(ep_kinds[k].decorator, d->name) != 0)
        k++;
    sfc_buf_init(&b, 0);
    sfc_buf_appendf(&b, "    { kind = \"%s\";", d->name);
    for (const struct ep_arg *s = ep_kinds[k].args; s->py; s++) {
        const struct py_arg *a = pysrc_arg(d, s->py, s->pos);

        if (a)
            whole = ep_value(im, &b, s, a, where) && whole;
        else if (strcmp(s->py, "exclude_current_user") == 0)
            /* nameko-salesforce's default, whatever ours is. */
            sfc_buf_append(&b, " exclude_current_user = true;", 29);
    }
    for (size_t i = 0; i < d->n_args; i++) {
        const struct ep_arg *s = ep_kinds[k].args;
        int pos = 0;

        for (size_t j = 0; j < i; j++)
            pos += !d->args[j].key;
        while (s->py && !(d->args[i].key ? strcmp(s->py, d->args[i].key) == 0
                                         : s->pos == pos))
            s++;
        if (!s->py)
            unmapped(im, "%s: argument %s: not one of the entrypoint's", where,
                     d->args[i].key ? d->args[i].key : d->args[i].text);
    }
    sfc_buf_append(&b, " }", 2);
    if (!whole) /* left out of the list: the lines above say why */
        sfc_buf_appendf(&im->left_out, "#%s  (%s:%d)\n", b.data + 3, file,
                        d->line);
    else
        sfc_buf_appendf(&im->entrypoints, "%s    # %s:%d: publishes %s\n%s",
                        im->entrypoints.len ? ",\n" : "", file, d->line,
                        ep_kinds[k].events, b.data);
    sfc_buf_free(&b);
}

/* The entrypoints of one Python source, and the service they belong to. */
static sfc_err_t map_python(struct import *im,
                            const char *path,
                            char *errstr,
                            size_t errstr_size)
{
    size_t len;
    char *text = cfg_read_text(path, &len, errstr, errstr_size);
    struct py_source src;

    if (!text)
        return SFC_ERR_IO;
    pysrc_scan(text, &src);
    sfc_free_secret(text);
    for (size_t i = 0; i < src.n_decorators; i++) {
        const char *owner = src.decorators[i].owner;

        if (!owner && src.n_services == 1)
            owner = src.services[0];
        if (owner && !im->service) {
            im->service = sfc_xstrdup(owner);
            im->service_from = path;
        } else if (owner && strcmp(owner, im->service) != 0) {
            unmapped(im,
                     "%s:%d: @%s of service \"%s\": one sfconnector "
                     "configuration serves one service (\"%s\"); give "
                     "this one a configuration of its own",
                     path, src.decorators[i].line, src.decorators[i].name,
                     owner, im->service);
            continue;
        }
        map_decorator(im, path, &src.decorators[i]);
    }
    if (src.salesforce_api_line)
        put_raw(im, S_RPC, "enabled", "true",
                "the service used the SalesforceAPI dependency: call "
                "sfconnector over RPC instead (see "
                "docs/migrating-from-nameko-salesforce.md)");
    pysrc_free(&src);
    return SFC_OK;
}

static void
print_config(struct import *im, const char *yaml_path, size_t n_py, FILE *out)
{
    fprintf(out,
            "# sfconnector configuration imported from %s%s by "
            "sfconnector import-nameko-config.\n# Check it with "
            "sfconnector check-config FILE.\n",
            yaml_path, n_py ? " and its service's source" : "");
    if (im->service)
        sfc_buf_appendf(&im->sec[S_SERVICE], "  name = \"%s\";  # %s\n",
                        im->service,
                        "the Nameko service consumers' @event_handler names");
    else
        sfc_buf_appendf(&im->sec[S_SERVICE], "  name = \"salesforce\";  # %s\n",
                        "the name consumers' @event_handler(\"<name>\", ...) "
                        "use (give the service's source to take its name)");
    for (int s = 0; s < S_N; s++) {
        if (s == S_STREAMING && im->entrypoints.len)
            sfc_buf_appendf(&im->sec[s], "  entrypoints = (\n%s\n  );\n",
                            im->entrypoints.data);
        if (!im->sec[s].len)
            continue;
        fprintf(out, "%s = {\n%s};\n", section_names[s], im->sec[s].data);
    }
    if (!im->entrypoints.len)
        fputs("# No entrypoints: give the service's Python source to map "
              "its @subscribe, @handle_notification and "
              "@handle_sobject_notification.\n",
              out);
    if (im->unmapped.len)
        fputs(im->unmapped.data, out);
    if (im->left_out.len)
        fprintf(out, "# Entrypoints left out for a value not mapped:\n%s",
                im->left_out.data);
}

static sfc_err_t
load_yaml(struct import *im, const char *path, char *errstr, size_t errstr_size)
{
    yaml_parser_t parser;
    size_t len;
    char *text = cfg_read_text(path, &len, errstr, errstr_size);
    bool ok;

    if (!text)
        return SFC_ERR_IO;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    ok = yaml_parser_load(&parser, &im->doc);
    if (!ok)
        sfc_errstr_set(errstr, errstr_size, "%s:%zu: not YAML: %s", path,
                       parser.problem_mark.line + 1,
                       parser.problem ? parser.problem : "?");
    yaml_parser_delete(&parser);
    sfc_free_secret(text);
    if (!ok)
        return SFC_ERR_PARSE;
    if (!yaml_document_get_root_node(&im->doc) ||
        yaml_document_get_root_node(&im->doc)->type != YAML_MAPPING_NODE) {
        sfc_errstr_set(errstr, errstr_size,
                       "%s: a Nameko config is a mapping of settings", path);
        yaml_document_delete(&im->doc);
        return SFC_ERR_PARSE;
    }
    return SFC_OK;
}

static void import_free(struct import *im)
{
    for (int s = 0; s < S_N; s++)
        sfc_buf_free(&im->sec[s]);
    sfc_buf_free(&im->entrypoints);
    sfc_buf_free(&im->left_out);
    sfc_buf_free(&im->unmapped);
    free(im->service);
}

sfc_err_t nameko_import(const char *yaml_path,
                        const char *const *py_paths,
                        size_t n_py,
                        FILE *out,
                        size_t *n_unmapped,
                        char *errstr,
                        size_t errstr_size)
{
    struct import im;
    yaml_node_t *root;
    sfc_err_t rc;

    memset(&im, 0, sizeof(im));
    for (int s = 0; s < S_N; s++)
        sfc_buf_init(&im.sec[s], 0);
    sfc_buf_init(&im.entrypoints, 0);
    sfc_buf_init(&im.left_out, 0);
    sfc_buf_init(&im.unmapped, 0);
    rc = load_yaml(&im, yaml_path, errstr, errstr_size);
    if (rc != SFC_OK)
        goto out_free;
    root = yaml_document_get_root_node(&im.doc);
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top; p++) {
        const char *k = scalar(node(&im, p->key));

        map_one(&im, top_settings,
                sizeof(top_settings) / sizeof(top_settings[0]), k ? k : "?",
                node(&im, p->value),
                "not a setting of Nameko's AMQP side or of nameko-salesforce");
    }
    if (!member(&im, root, "SALESFORCE"))
        unmapped(&im, "SALESFORCE: absent; nameko-salesforce needs it (and "
                      "so does sfconnector's salesforce section)");
    for (size_t i = 0; i < n_py && rc == SFC_OK; i++)
        rc = map_python(&im, py_paths[i], errstr, errstr_size);
    if (rc == SFC_OK) {
        print_config(&im, yaml_path, n_py, out);
        if (n_unmapped)
            *n_unmapped = im.n_unmapped;
    }
    yaml_document_delete(&im.doc);
out_free:
    import_free(&im);
    return rc;
}
