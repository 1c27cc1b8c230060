/*
 * Loading a config file through the key table: types, ranges, allowed
 * values, environment substitution, unknown keys with suggestions. Every
 * problem is reported with file, line and key; loading goes on after an
 * error so that one run reports them all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libconfig.h>

#include "config_int.h"
#include "config_check.h"

#define MAX_SUGGEST 64

static void vreport(struct cfg_loader *L,
                    const config_setting_t *s,
                    const char *key,
                    const char *fmt,
                    va_list ap)
{
    char msg[512];
    const char *file = s ? config_setting_source_file(s) : NULL;
    int line = s ? (int)config_setting_source_line(s) : 0;
    struct sfc_buf *b = &L->errors;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (!file)
        file = L->path;
    if (line > 0)
        sfc_buf_appendf(b, "%s:%d: %s: %s\n", file, line, key, msg);
    else
        sfc_buf_appendf(b, "%s: %s: %s\n", file, key, msg);
    L->n_errors++;
}

void cfg_report(struct cfg_loader *L,
                const config_setting_t *s,
                const char *key,
                const char *fmt,
                ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(L, s, key, fmt, ap);
    va_end(ap);
}

/* Reads a string setting and expands the environment in it; NULL on error. */
static char *expanded_string(struct cfg_loader *L,
                             const config_setting_t *s,
                             const char *key)
{
    char err[256];
    char *out = NULL;
    const char *raw = config_setting_get_string(s);

    if (sfc_config_expand_env(raw, &out, err, sizeof(err)) != SFC_OK) {
        cfg_report(L, s, key, "%s", err);
        return NULL;
    }
    return out;
}

static bool parse_bool_text(const char *t, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(t, yes[i]) == 0 || strcasecmp(t, no[i]) == 0) {
            *out = strcasecmp(t, yes[i]) == 0;
            return true;
        }
    }
    return false;
}

static void load_int(struct cfg_loader *L,
                     const struct cfg_key *k,
                     const char *key,
                     const config_setting_t *s,
                     void *f)
{
    int type = config_setting_type(s);
    long long v;

    if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
        v = config_setting_get_int64(s);
    } else if (type == CONFIG_TYPE_STRING) {
        char *t = expanded_string(L, s, key), *end;

        if (!t)
            return;
        errno = 0;
        v = strtoll(t, &end, 10);
        if (errno || end == t || *end) {
            cfg_report(L, s, key, "expected an integer, got \"%s\"", t);
            free(t);
            return;
        }
        free(t);
    } else {
        cfg_report(L, s, key, "expected an integer");
        return;
    }
    if (k->min <= k->max && (v < k->min || v > k->max)) {
        cfg_report(L, s, key, "%lld is out of range (%lld..%lld)", v,
                   (long long)k->min, (long long)k->max);
        return;
    }
    *(int64_t *)f = v;
}

static void load_bool(struct cfg_loader *L,
                      const char *key,
                      const config_setting_t *s,
                      void *f)
{
    int type = config_setting_type(s);

    if (type == CONFIG_TYPE_BOOL) {
        *(bool *)f = config_setting_get_bool(s);
    } else if (type == CONFIG_TYPE_STRING) {
        char *t = expanded_string(L, s, key);

        if (t && !parse_bool_text(t, f))
            cfg_report(L, s, key, "expected true or false, got \"%s\"", t);
        free(t);
    } else {
        cfg_report(L, s, key, "expected true or false");
    }
}

static void load_enum(struct cfg_loader *L,
                      const struct cfg_key *k,
                      const char *key,
                      const config_setting_t *s,
                      void *f)
{
    char allowed[256] = "";
    char *t;

    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        cfg_report(L, s, key, "expected a string");
        return;
    }
    t = expanded_string(L, s, key);
    if (!t)
        return;
    for (int i = 0; k->allowed[i]; i++) {
        if (strcasecmp(t, k->allowed[i]) == 0) {
            *(int *)f = i;
            free(t);
            return;
        }
        snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed),
                 "%s%s", i ? ", " : "", k->allowed[i]);
    }
    {
        size_t n = 0;

        while (k->allowed[n])
            n++;
        const char *hint = cfg_suggest(t, k->allowed, n);

        cfg_report(L, s, key, "\"%s\" is not one of: %s%s%s%s", t, allowed,
                   hint ? " (did you mean \"" : "", hint ? hint : "",
                   hint ? "\"?)" : "");
    }
    free(t);
}

static void load_strlist(struct cfg_loader *L,
                         const struct cfg_key *k,
                         const char *key,
                         const config_setting_t *s,
                         void *base)
{
    int type = config_setting_type(s);
    char ***list = cfg_field(base, k);
    size_t *n = (size_t *)((char *)base + k->count_offset);
    int count;

    if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
        cfg_report(L, s, key, "expected a list of strings: [ \"a\", \"b\" ]");
        return;
    }
    count = config_setting_length(s);
    *list = sfc_xcalloc((size_t)count + 1, sizeof(char *));
    for (int i = 0; i < count; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char *t;

        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            cfg_report(L, e, key, "element %d is not a string", i + 1);
            continue;
        }
        t = expanded_string(L, e, key);
        if (t)
            (*list)[(*n)++] = t;
    }
}

static void load_group(struct cfg_loader *L,
                       const struct cfg_table *t,
                       const char *prefix,
                       const config_setting_t *group,
                       void *base);

static void load_list(struct cfg_loader *L,
                      const struct cfg_key *k,
                      const char *key,
                      const config_setting_t *s,
                      void *base)
{
    char **items = cfg_field(base, k);
    size_t *n = (size_t *)((char *)base + k->count_offset);
    const struct cfg_table *sub = k->sub;
    int count;

    if (config_setting_type(s) != CONFIG_TYPE_LIST) {
        cfg_report(L, s, key, "expected a list of groups: ( { ... }, ... )");
        return;
    }
    count = config_setting_length(s);
    *items = sfc_xcalloc((size_t)count + 1, sub->elem_size);
    for (int i = 0; i < count; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        void *elem = *items + (size_t)i * sub->elem_size;
        char prefix[256];

        snprintf(prefix, sizeof(prefix), "%.200s[%d]", key, i);
        for (size_t j = 0; j < sub->n_keys; j++)
            cfg_set_default(&sub->keys[j], elem);
        *(int *)((char *)elem + sub->line_offset) =
            (int)config_setting_source_line(e);
        (*n)++;
        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
            cfg_report(L, e, prefix, "expected a group { ... }");
            continue;
        }
        load_group(L, sub, prefix, e, elem);
        /* Keys without a default are required in list elements. */
        for (size_t j = 0; j < sub->n_keys; j++) {
            const struct cfg_key *sk = &sub->keys[j];

            if (sk->type == CFG_ENUM && !sk->def &&
                !config_setting_get_member(e, sk->name))
                cfg_report(L, e, prefix, "%s is required", sk->name);
        }
    }
}

static void load_key(struct cfg_loader *L,
                     const struct cfg_key *k,
                     const char *key,
                     const config_setting_t *s,
                     void *base)
{
    void *f = cfg_field(base, k);

    switch (k->type) {
    case CFG_STR:
        if (config_setting_type(s) != CONFIG_TYPE_STRING) {
            cfg_report(L, s, key, "expected a string (in double quotes)");
        } else {
            char *t = expanded_string(L, s, key);

            if (t) {
                if (k->flags & CFG_F_SECRET)
                    sfc_free_secret(*(char **)f);
                else
                    free(*(char **)f);
                *(char **)f = t;
            }
        }
        break;
    case CFG_INT:
        load_int(L, k, key, s, f);
        break;
    case CFG_BOOL:
        load_bool(L, key, s, f);
        break;
    case CFG_ENUM:
        load_enum(L, k, key, s, f);
        break;
    case CFG_STRLIST:
        load_strlist(L, k, key, s, base);
        break;
    case CFG_LIST:
        load_list(L, k, key, s, base);
        break;
    }
}

static void unknown_key(struct cfg_loader *L,
                        const config_setting_t *s,
                        const char *key,
                        const char *name,
                        const char *const *names,
                        size_t n)
{
    const char *hint = cfg_suggest(name, names, n);

    if (hint)
        cfg_report(L, s, key, "unknown key (did you mean \"%s\"?)", hint);
    else
        cfg_report(L, s, key, "unknown key");
}

static void load_group(struct cfg_loader *L,
                       const struct cfg_table *t,
                       const char *prefix,
                       const config_setting_t *group,
                       void *base)
{
    const char *names[MAX_SUGGEST];
    int count = config_setting_length(group);

    for (size_t j = 0; j < t->n_keys && j < MAX_SUGGEST; j++)
        names[j] = t->keys[j].name;
    for (int i = 0; i < count; i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        const struct cfg_key *k = NULL;
        char key[320];

        snprintf(key, sizeof(key), "%.200s.%.100s", prefix, name ? name : "?");
        for (size_t j = 0; j < t->n_keys; j++)
            if (name && strcmp(t->keys[j].name, name) == 0)
                k = &t->keys[j];
        if (!k) {
            unknown_key(L, s, key, name ? name : "", names,
                        t->n_keys < MAX_SUGGEST ? t->n_keys : MAX_SUGGEST);
            continue;
        }
        load_key(L, k, key, s, base);
    }
}

static void load_root(struct cfg_loader *L, config_t *c, struct sfc_config *cfg)
{
    const config_setting_t *root = config_root_setting(c);
    const char *names[16];
    int count = config_setting_length(root);

    for (size_t j = 0; j < cfg_n_sections; j++)
        names[j] = cfg_sections[j].name;
    for (int i = 0; i < count; i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(s);
        const struct cfg_table *t = NULL;

        for (size_t j = 0; j < cfg_n_sections; j++)
            if (strcmp(cfg_sections[j].name, name) == 0)
                t = &cfg_sections[j];
        if (!t) {
            unknown_key(L, s, name, name, names, cfg_n_sections);
            continue;
        }
        if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
            cfg_report(L, s, name, "expected a section: %s = { ... };", name);
            continue;
        }
        load_group(L, t, name, s, (char *)cfg + t->offset);
    }
}

struct sfc_config *sfc_config_defaults(void)
{
    struct sfc_config *cfg = sfc_xcalloc(1, sizeof(*cfg));

    for (size_t i = 0; i < cfg_n_sections; i++) {
        const struct cfg_table *t = &cfg_sections[i];

        for (size_t j = 0; j < t->n_keys; j++)
            cfg_set_default(&t->keys[j], (char *)cfg + t->offset);
    }
    return cfg;
}

void sfc_config_destroy(struct sfc_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg_n_sections; i++)
        cfg_free_table(&cfg_sections[i], (char *)cfg + cfg_sections[i].offset);
    free(cfg->path);
    free(cfg);
}

struct sfc_config *
sfc_config_load(const char *path, char *errstr, size_t errstr_size)
{
    struct sfc_config *cfg;
    struct cfg_loader L = {.path = path};
    config_t c;

    config_init(&c);
    sfc_buf_init(&L.errors, 64 * 1024);
    if (!config_read_file(&c, path)) {
        if (config_error_type(&c) == CONFIG_ERR_FILE_IO)
            sfc_errstr_set(errstr, errstr_size, "%s: cannot read: %s", path,
                           strerror(errno));
        else
            sfc_errstr_set(errstr, errstr_size, "%s:%d: syntax error: %s",
                           config_error_file(&c) ? config_error_file(&c) : path,
                           config_error_line(&c), config_error_text(&c));
        config_destroy(&c);
        sfc_buf_free(&L.errors);
        return NULL;
    }
    cfg = sfc_config_defaults();
    cfg->path = sfc_xstrdup(path);
    load_root(&L, &c, cfg);
    if (L.n_errors == 0)
        cfg_check(&L, &c, cfg);
    config_destroy(&c);
    if (L.n_errors) {
        /* Drop the trailing newline of the last message. */
        if (L.errors.len && L.errors.data[L.errors.len - 1] == '\n')
            L.errors.data[--L.errors.len] = '\0';
        sfc_errstr_set(errstr, errstr_size, "%s", L.errors.data);
        sfc_buf_free(&L.errors);
        sfc_config_destroy(cfg);
        return NULL;
    }
    sfc_buf_free(&L.errors);
    return cfg;
}
