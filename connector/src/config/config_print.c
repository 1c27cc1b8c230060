/*
 * Printing: the effective configuration (redacted), --help-config as text or
 * as docs/configuration.md's Markdown reference, and the logger set-up from the
 * config.
 */
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

static void print_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void
print_group(FILE *out, const struct cfg_table *t, const void *base, int indent);

static void
print_value(FILE *out, const struct cfg_key *k, const void *base, int indent)
{
    const void *f = cfg_cfield(base, k);
    size_t n = k->count_offset
                   ? *(const size_t *)((const char *)base + k->count_offset)
                   : 0;

    switch (k->type) {
    case CFG_STR: {
        const char *s = *(char *const *)f;

        if (k->flags & CFG_F_SECRET) {
            fputs("\"****\"", out);
        } else if (k->flags & CFG_F_URI) {
            char *r = sfc_config_redact_uri(s);

            print_string(out, r);
            free(r);
        } else {
            print_string(out, s);
        }
        break;
    }
    case CFG_INT:
        fprintf(out, "%lld", (long long)*(const int64_t *)f);
        break;
    case CFG_BOOL:
        fputs(*(const bool *)f ? "true" : "false", out);
        break;
    case CFG_ENUM:
        print_string(out, k->allowed[*(const int *)f]);
        break;
    case CFG_ROW: {
        const void *row = *(const void *const *)f;

        print_string(out, row ? *(const char *const *)row : "");
        break;
    }
    case CFG_STRLIST:
        fputs("[", out);
        for (size_t i = 0; i < n; i++) {
            fputs(i ? ", " : " ", out);
            print_string(out, (*(char **const *)f)[i]);
        }
        fputs(n ? " ]" : "]", out);
        break;
    case CFG_LIST:
        fputs("(", out);
        for (size_t i = 0; i < n; i++) {
            fprintf(out, "%s\n%*s{\n", i ? "," : "", indent + 2, "");
            print_group(out, k->sub, *(char *const *)f + i * k->sub->elem_size,
                        indent + 4);
            fprintf(out, "%*s}", indent + 2, "");
        }
        fprintf(out, n ? "\n%*s)" : ")", indent, "");
        break;
    }
}

static void
print_group(FILE *out, const struct cfg_table *t, const void *base, int indent)
{
    for (size_t i = 0; i < t->n_keys; i++) {
        const struct cfg_key *k = &t->keys[i];

        if (k->type == CFG_STR && !*(char *const *)cfg_cfield(base, k)) {
            fprintf(out, "%*s# %s: not set\n", indent, "", k->name);
            continue;
        }
        fprintf(out, "%*s%s = ", indent, "", k->name);
        print_value(out, k, base, indent);
        fputs(";\n", out);
    }
}

void sfc_config_print(const struct sfc_config *cfg, FILE *out)
{
    fprintf(out, "# effective configuration of %s (secrets shown as ****)\n",
            cfg->path ? cfg->path : "(defaults)");
    for (size_t i = 0; i < cfg_n_sections; i++) {
        const struct cfg_table *t = &cfg_sections[i];

        fprintf(out, "%s = {\n", t->name);
        print_group(out, t, (const char *)cfg + t->offset, 2);
        fputs("};\n", out);
    }
}

static void allowed_text(const struct cfg_key *k, char *buf, size_t size)
{
    buf[0] = '\0';
    if (k->type == CFG_ENUM || k->type == CFG_ROW) {
        for (size_t i = 0; cfg_choice(k, i); i++)
            snprintf(buf + strlen(buf), size - strlen(buf), "%s%s",
                     i ? ", " : "", cfg_choice(k, i));
    } else if (k->type == CFG_INT && k->min <= k->max) {
        snprintf(buf, size, "%lld..%lld", (long long)k->min, (long long)k->max);
    }
}

/* A Markdown table cell: "<" would open an HTML tag, "|" end the cell. */
static void md_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", out);
        else if (*s == '>')
            fputs("&gt;", out);
        else if (*s == '|')
            fputs("\\|", out);
        else
            fputc(*s, out);
    }
}

/* roff text: a backslash is "\e"; a line never starts with "." or "'". */
static void roff_text(FILE *out, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
    }
}

static void help_key(FILE *out,
                     const struct cfg_key *k,
                     const char *prefix,
                     enum cfg_help_format fmt)
{
    char allowed[160];
    const char *def = k->def ? k->def : "";
    bool secret = k->flags & CFG_F_SECRET;

    allowed_text(k, allowed, sizeof(allowed));
    switch (fmt) {
    case CFG_HELP_MARKDOWN:
        fprintf(out, "| `%s.%s` | %s%s | %s%s%s | ", prefix, k->name,
                cfg_type_name(k), secret ? " (secret)" : "", *def ? "`" : "",
                def, *def ? "`" : "");
        md_cell(out, allowed);
        fputs(" | ", out);
        md_cell(out, k->desc);
        fputs(" |\n", out);
        break;
    case CFG_HELP_MAN:
        fputs(".TP\n.B ", out);
        roff_text(out, prefix);
        fputc('.', out);
        roff_text(out, k->name);
        fprintf(out, "\n(%s%s", cfg_type_name(k), secret ? ", secret" : "");
        if (*def) {
            fputs("; default \\fB", out);
            roff_text(out, def);
            fputs("\\fR", out);
        }
        if (*allowed) {
            fputs("; allowed: ", out);
            roff_text(out, allowed);
        }
        fputs(")\n.br\n", out);
        roff_text(out, k->desc);
        fputc('\n', out);
        break;
    case CFG_HELP_TEXT:
        fprintf(out, "  %s.%s (%s%s)\n", prefix, k->name, cfg_type_name(k),
                secret ? ", secret" : "");
        fprintf(out, "      %s\n", k->desc);
        if (*def || *allowed)
            fprintf(out, "      default: %s%s%s\n", *def ? def : "none",
                    *allowed ? "; allowed: " : "", allowed);
        break;
    }
}

static void help_keys(FILE *out,
                      const struct cfg_table *t,
                      const char *prefix,
                      enum cfg_help_format fmt)
{
    for (size_t i = 0; i < t->n_keys; i++)
        help_key(out, &t->keys[i], prefix, fmt);
    for (size_t i = 0; i < t->n_keys; i++) {
        const struct cfg_key *k = &t->keys[i];
        char sub[128];

        if (k->type != CFG_LIST)
            continue;
        snprintf(sub, sizeof(sub), "%s.%s[]", prefix, k->name);
        if (fmt == CFG_HELP_MARKDOWN)
            fprintf(out,
                    "\nEach element of `%s.%s`:\n\n| key | type | "
                    "default | allowed | description |\n|---|---|---|---|"
                    "---|\n",
                    prefix, k->name);
        else if (fmt == CFG_HELP_MAN)
            fprintf(out, ".PP\nEach element of \\fB%s.%s\\fR:\n", prefix,
                    k->name);
        help_keys(out, k->sub, sub, fmt);
    }
}

void sfc_config_help(FILE *out, enum cfg_help_format fmt)
{
    if (fmt == CFG_HELP_TEXT)
        fputs("Configuration keys (libconfig syntax; string values may use "
              "${VAR}, ${VAR:-default} and ${VAR:default}):\n",
              out);
    for (size_t i = 0; i < cfg_n_sections; i++) {
        const struct cfg_table *t = &cfg_sections[i];

        switch (fmt) {
        case CFG_HELP_MARKDOWN:
            fprintf(out,
                    "%s### `%s` — %s\n\n| key | type | default | "
                    "allowed | description |\n|---|---|---|---|---|\n",
                    i ? "\n" : "", t->name, t->desc);
            break;
        case CFG_HELP_MAN:
            fprintf(out, ".SS \"%s \\(em ", t->name);
            roff_text(out, t->desc);
            fputs("\"\n", out);
            break;
        case CFG_HELP_TEXT:
            fprintf(out, "\n%s: %s\n", t->name, t->desc);
            break;
        }
        help_keys(out, t, t->name, fmt);
    }
}

/* Registers every secret string of @t in @base with the logger. */
static void register_secrets(const struct cfg_table *t, const void *base)
{
    for (size_t i = 0; i < t->n_keys; i++) {
        const struct cfg_key *k = &t->keys[i];
        const char *s;

        if (k->type == CFG_LIST) {
            size_t n = *(const size_t *)((const char *)base + k->count_offset);

            for (size_t j = 0; j < n; j++)
                register_secrets(k->sub, *(char *const *)cfg_cfield(base, k) +
                                             j * k->sub->elem_size);
            continue;
        }
        if (k->type != CFG_STR || !(s = *(char *const *)cfg_cfield(base, k)))
            continue;
        if (k->flags & CFG_F_SECRET) {
            sfc_log_add_secret(s);
        } else if (k->flags & CFG_F_URI) {
            /* The password between "user:" and "@". */
            const char *scheme = strstr(s, "://");
            const char *auth = scheme ? scheme + 3 : s;
            const char *at = strrchr(auth, '@');
            const char *colon =
                at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;

            if (colon) {
                char *pw = sfc_xstrndup(colon + 1, (size_t)(at - colon - 1));

                sfc_log_add_secret(pw);
                sfc_free_secret(pw);
            }
        }
    }
}

sfc_err_t sfc_config_apply_logging(const struct sfc_config *cfg,
                                   char *errstr,
                                   size_t errstr_size)
{
    const struct sfc_config_log *l = &cfg->log;

    for (size_t i = 0; i < cfg_n_sections; i++)
        register_secrets(&cfg_sections[i],
                         (const char *)cfg + cfg_sections[i].offset);
    sfc_log_configure(l->level, l->format, l->debug);
    return sfc_log_open(l->file && *l->file ? l->file : NULL, errstr,
                        errstr_size);
}
