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

/* A string setting with the environment expanded in it. */
struct expanded {
    char *text;          /* NULL on error (reported) */
    struct sfc_buf vars; /* "${A}, ${B}": the variables it came from */
};

static void expanded_free(struct expanded *e)
{
    sfc_free_secret(e->text);
    sfc_buf_free(&e->vars);
}

/* How a message shows @e's value. */
static const char *shown(const struct expanded *e, char *buf, size_t size)
{
    return cfg_show_vars(e->vars.data, e->text, buf, size);
}

/* Reads a string setting and expands the environment in it. False (and
 * reported) on error. */
static bool expand_setting(struct cfg_loader *L,
                           const config_setting_t *s,
                           const char *key,
                           struct expanded *e)
{
    char err[256];

    e->text = NULL;
    sfc_buf_init(&e->vars, 4096);
    if (cfg_expand_env(config_setting_get_string(s), &e->text, &e->vars, err,
                       sizeof(err)) != SFC_OK) {
        cfg_report(L, s, key, "%s", err);
        return false;
    }
    return true;
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

/*
 * An integer literal as libconfig writes them (decimal, or 0x hex), of
 * @n bytes. False when it does not fit 64 bits.
 */
static bool literal_value(const char *lit, size_t n, long long *v)
{
    char buf[128];
    const char *digits = buf;
    bool neg = false;
    unsigned long long u;

    if (n >= sizeof(buf))
        return false;
    memcpy(buf, lit, n);
    buf[n] = '\0';
    if (*digits == '-' || *digits == '+')
        neg = *digits++ == '-';
    errno = 0;
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
        u = strtoull(digits + 2, NULL, 16);
    else
        u = strtoull(digits, NULL, 10);
    if (errno == ERANGE || u > (unsigned long long)INT64_MAX + neg)
        return false;
    *v = neg ? (long long)(0 - u) : (long long)u;
    return true;
}

static void report_range(struct cfg_loader *L,
                         const struct cfg_key *k,
                         const char *key,
                         const config_setting_t *s,
                         const char *what)
{
    if (k->min <= k->max)
        cfg_report(L, s, key, "%s is out of range (%lld..%lld)", what,
                   (long long)k->min, (long long)k->max);
    else
        cfg_report(L, s, key, "%s is out of range", what);
}

/*
 * A number from a string setting; false when reported. @what: how a
 * message shows it (the number, or the variables it came from).
 */
static bool int_from_string(struct cfg_loader *L,
                            const struct cfg_key *k,
                            const char *key,
                            const config_setting_t *s,
                            long long *v,
                            char *what,
                            size_t what_size)
{
    struct expanded e;
    char *end;
    bool ok = false;

    if (expand_setting(L, s, key, &e)) {
        errno = 0;
        *v = strtoll(e.text, &end, 10);
        shown(&e, what, what_size);
        if (end == e.text || *end)
            cfg_report(L, s, key, "expected an integer, got %s", what);
        else if (errno == ERANGE)
            report_range(L, k, key, s, what);
        else
            ok = true;
        if (ok && !e.vars.len)
            snprintf(what, what_size, "%lld", *v);
    }
    expanded_free(&e);
    return ok;
}

static void load_int(struct cfg_loader *L,
                     const struct cfg_key *k,
                     const char *key,
                     const config_setting_t *s,
                     void *f)
{
    int type = config_setting_type(s);
    char what[320];
    long long v;

    if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
        size_t n = 0;
        const char *lit = cfg_int_literal(L, s, &n);

        /* libconfig keeps a literal without an L suffix in 32 bits, and
         * one beyond 64 bits as garbage: the text decides. */
        v = config_setting_get_int64(s);
        snprintf(what, sizeof(what), "%lld", v);
        if (lit) {
            snprintf(what, sizeof(what), "%.*s", (int)n, lit);
            if (!literal_value(lit, n, &v)) {
                report_range(L, k, key, s, what);
                return;
            }
        }
    } else if (type == CONFIG_TYPE_STRING) {
        if (!int_from_string(L, k, key, s, &v, what, sizeof(what)))
            return;
    } else {
        cfg_report(L, s, key, "expected an integer");
        return;
    }
    if (k->min <= k->max && (v < k->min || v > k->max)) {
        report_range(L, k, key, s, what);
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
        struct expanded e;
        char show[320];

        if (expand_setting(L, s, key, &e) && !parse_bool_text(e.text, f))
            cfg_report(L, s, key, "expected true or false, got %s",
                       shown(&e, show, sizeof(show)));
        expanded_free(&e);
    } else {
        cfg_report(L, s, key, "expected true or false");
    }
}

/* A CFG_ENUM (the index stored as an int) or a CFG_ROW (the row). */
static void load_choice(struct cfg_loader *L,
                        const struct cfg_key *k,
                        const char *key,
                        const config_setting_t *s,
                        void *f)
{
    char allowed[256] = "", show[320];
    const char *names[MAX_SUGGEST];
    struct expanded e;
    const char *hint, *name;
    size_t i;

    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        cfg_report(L, s, key, "expected a string");
        return;
    }
    if (!expand_setting(L, s, key, &e)) {
        expanded_free(&e);
        return;
    }
    for (i = 0; (name = cfg_choice(k, i)) && i < MAX_SUGGEST; i++) {
        if (strcasecmp(e.text, name) == 0) {
            if (k->type == CFG_ROW)
                *(const void **)f = (const char *)k->rows + i * k->row_size;
            else
                *(int *)f = (int)i;
            expanded_free(&e);
            return;
        }
        names[i] = name;
        snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed),
                 "%s%s", i ? ", " : "", name);
    }
    /* A hint from a value the file does not show would tell about it. */
    hint = e.vars.len ? NULL : cfg_suggest(e.text, names, i);
    cfg_report(L, s, key, "%s is not one of: %s%s%s%s",
               shown(&e, show, sizeof(show)), allowed,
               hint ? " (did you mean \"" : "", hint ? hint : "",
               hint ? "\"?)" : "");
    expanded_free(&e);
}

/* Stores a loaded string at @f, noting where it came from. */
static void store_string(struct cfg_loader *L,
                         const struct cfg_key *k,
                         char **f,
                         struct expanded *e)
{
    if (e->vars.len)
        cfg_taint(L, f, e->vars.data, e->text);
    if (k->flags & CFG_F_SECRET) {
        cfg_secret(L, f, e->text);
        sfc_free_secret(*f);
    } else {
        free(*f);
    }
    *f = e->text;
    e->text = NULL;
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
        struct expanded x;

        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            cfg_report(L, e, key, "element %d is not a string", i + 1);
            continue;
        }
        if (expand_setting(L, e, key, &x))
            store_string(L, k, &(*list)[(*n)++], &x);
        expanded_free(&x);
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

            if ((sk->type == CFG_ENUM || sk->type == CFG_ROW) && !sk->def &&
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
            struct expanded e;

            if (expand_setting(L, s, key, &e))
                store_string(L, k, f, &e);
            expanded_free(&e);
        }
        break;
    case CFG_INT:
        load_int(L, k, key, s, f);
        break;
    case CFG_BOOL:
        load_bool(L, key, s, f);
        break;
    case CFG_ENUM:
    case CFG_ROW:
        load_choice(L, k, key, s, f);
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
    struct cfg_loader L;
    config_t c;

    if (cfg_loader_init(&L, path, errstr, errstr_size) != SFC_OK)
        return NULL;
    config_init(&c);
    if (!config_read_file(&c, path)) {
        if (config_error_type(&c) == CONFIG_ERR_FILE_IO)
            sfc_errstr_set(errstr, errstr_size, "%s: cannot read: %s", path,
                           strerror(errno));
        else
            sfc_errstr_set(errstr, errstr_size, "%s:%d: syntax error: %s",
                           config_error_file(&c) ? config_error_file(&c) : path,
                           config_error_line(&c), config_error_text(&c));
        config_destroy(&c);
        cfg_loader_finish(&L, NULL, 0);
        return NULL;
    }
    cfg = sfc_config_defaults();
    cfg->path = sfc_xstrdup(path);
    load_root(&L, &c, cfg);
    if (L.n_errors == 0)
        cfg_check(&L, &c, cfg);
    config_destroy(&c);
    if (cfg_loader_finish(&L, errstr, errstr_size) != SFC_OK) {
        sfc_config_destroy(cfg);
        return NULL;
    }
    return cfg;
}
