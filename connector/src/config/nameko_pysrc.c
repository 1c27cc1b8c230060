/* Python source -> Nameko service names and nameko-salesforce decorators
 * (see nameko_pysrc.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sfc/common.h"
#include "nameko_pysrc.h"

static const char *const decorators[] = {"subscribe", "handle_notification",
                                         "handle_sobject_notification", NULL};

static bool is_ident(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Skips a string literal starting at @p (a quote); returns past it. */
static const char *skip_string(const char *p)
{
    char q = *p++;

    while (*p && *p != q && *p != '\n') {
        if (*p == '\\' && p[1])
            p++;
        p++;
    }
    return *p == q ? p + 1 : p;
}

/* The string literal at @p decoded (simple escapes), appended to @b. */
static const char *read_string(const char *p, struct sfc_buf *b)
{
    char q = *p++;

    while (*p && *p != q && *p != '\n') {
        char c = *p++;

        if (c == '\\' && *p) {
            c = *p++;
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        }
        sfc_buf_append(b, &c, 1);
    }
    return *p == q ? p + 1 : p;
}

static char *trimmed(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return sfc_xstrndup(s, n);
}

/* One argument's text (between commas at depth 0) -> @a. */
static void parse_arg(const char *s, size_t n, struct py_arg *a)
{
    char *t = trimmed(s, n), *v = t, *eq;
    size_t i = 0;

    memset(a, 0, sizeof(*a));
    while (is_ident(t[i]))
        i++;
    eq = t + i;
    while (*eq == ' ' || *eq == '\t')
        eq++;
    if (i && *eq == '=' && eq[1] != '=') {
        a->key = sfc_xstrndup(t, i);
        v = eq + 1;
        while (isspace((unsigned char)*v))
            v++;
    }
    if (*v == '\'' || *v == '"') {
        /* Adjacent literals join, as Python joins them. */
        struct sfc_buf b;
        const char *p = v;

        sfc_buf_init(&b, 0);
        sfc_buf_append(&b, "", 0);
        while (*p == '\'' || *p == '"') {
            p = read_string(p, &b);
            while (isspace((unsigned char)*p))
                p++;
        }
        if (*p == '\0') {
            a->type = PY_STR;
            a->text = sfc_buf_steal(&b);
            free(t);
            return;
        }
        sfc_buf_free(&b);
        a->type = PY_OTHER;
    } else if (strcmp(v, "True") == 0) {
        a->type = PY_TRUE;
    } else if (strcmp(v, "False") == 0) {
        a->type = PY_FALSE;
    } else if (strcmp(v, "None") == 0) {
        a->type = PY_NONE;
    } else if (*v && strspn(v, "0123456789.+-eE") == strlen(v)) {
        a->type = PY_NUMBER;
    } else if (*v && strspn(v, "abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") ==
                         strlen(v)) {
        a->type = PY_NAME;
    } else {
        a->type = PY_OTHER;
    }
    a->text = sfc_xstrdup(v);
    free(t);
}

static void add_arg(struct py_decorator *d, struct sfc_buf *text)
{
    if (strspn(text->data, " \t\r\n") == text->len)
        return;
    d->args = sfc_xrealloc(d->args, (d->n_args + 1) * sizeof(*d->args));
    parse_arg(text->data, text->len, &d->args[d->n_args++]);
}

/*
 * The arguments between the '(' at @p and its ')': split at commas outside
 * brackets and strings, comments left out. Returns past the ')'; *line
 * counts newlines.
 */
static const char *parse_args(const char *p, struct py_decorator *d, int *line)
{
    struct sfc_buf text;
    int depth = 0;

    sfc_buf_init(&text, 0);
    sfc_buf_append(&text, "", 0);
    for (p++; *p; p++) {
        const char *from = p;

        if (*p == '\'' || *p == '"') {
            p = skip_string(p);
            sfc_buf_append(&text, from, (size_t)(p - from));
            p--;
            continue;
        }
        if (*p == '#') {
            while (p[1] && p[1] != '\n')
                p++;
            continue;
        }
        if (*p == '\n')
            (*line)++;
        if (*p == '(' || *p == '[' || *p == '{')
            depth++;
        if ((*p == ',' || *p == ')') && depth == 0) {
            add_arg(d, &text);
            sfc_buf_reset(&text);
            sfc_buf_append(&text, "", 0);
            if (*p == ')') {
                sfc_buf_free(&text);
                return p + 1;
            }
            continue;
        }
        if (*p == ')' || *p == ']' || *p == '}')
            depth--;
        sfc_buf_append(&text, p, 1);
    }
    sfc_buf_free(&text);
    return p;
}

/* A class-level `name = "..."` at @p (after the indentation): its value. */
static char *service_name_at(const char *p)
{
    struct sfc_buf b;

    if (strncmp(p, "name", 4) != 0 || is_ident(p[4]))
        return NULL;
    p += 4;
    p += strspn(p, " \t");
    if (*p != '=' || p[1] == '=')
        return NULL;
    p++;
    p += strspn(p, " \t");
    if (*p != '\'' && *p != '"')
        return NULL;
    sfc_buf_init(&b, 0);
    sfc_buf_append(&b, "", 0);
    read_string(p, &b);
    return sfc_buf_steal(&b);
}

void pysrc_scan(const char *text, struct py_source *out)
{
    const char *p = text;
    int line = 1;
    size_t class_indent = 0;
    bool in_class = false;
    char *owner = NULL; /* the current class's service name */

    memset(out, 0, sizeof(*out));
    while (*p) {
        size_t indent = strspn(p, " \t");
        const char *s = p + indent;
        const char *eol = strchr(s, '\n');
        int this_line = line;

        if (!eol)
            eol = s + strlen(s);
        if (*s && *s != '#' && *s != '\n' && in_class &&
            indent <= class_indent) {
            in_class = false;
            owner = NULL;
        }
        if (strncmp(s, "class ", 6) == 0) {
            in_class = true;
            class_indent = indent;
            owner = NULL;
        } else if (in_class && !owner && (owner = service_name_at(s))) {
            out->services = sfc_xrealloc(out->services, (out->n_services + 1) *
                                                            sizeof(char *));
            out->service_lines = sfc_xrealloc(
                out->service_lines, (out->n_services + 1) * sizeof(int));
            out->services[out->n_services] = owner;
            out->service_lines[out->n_services++] = line;
        } else if (*s == '@') {
            const char *n = s + 1, *last = n;
            size_t len;

            while (is_ident(*n) || *n == '.') {
                if (*n == '.')
                    last = n + 1;
                n++;
            }
            len = (size_t)(n - last);
            for (size_t i = 0; decorators[i]; i++) {
                struct py_decorator *d;

                if (strlen(decorators[i]) != len ||
                    strncmp(last, decorators[i], len) != 0 || *n != '(')
                    continue;
                out->decorators =
                    sfc_xrealloc(out->decorators, (out->n_decorators + 1) *
                                                      sizeof(*out->decorators));
                d = &out->decorators[out->n_decorators++];
                memset(d, 0, sizeof(*d));
                d->line = this_line;
                d->name = sfc_xstrdup(decorators[i]);
                d->owner = owner ? sfc_xstrdup(owner) : NULL;
                eol = parse_args(n, d, &line);
                eol = strchr(eol, '\n');
                if (!eol)
                    eol = n + strlen(n);
                break;
            }
        }
        if (!out->salesforce_api_line) {
            const char *hit = strstr(s, "SalesforceAPI(");

            if (hit && hit < eol && (hit == s || !is_ident(hit[-1])))
                out->salesforce_api_line = this_line;
        }
        if (!*eol)
            break;
        p = eol + 1;
        line++;
    }
}

static void free_decorator(struct py_decorator *d)
{
    for (size_t i = 0; i < d->n_args; i++) {
        free(d->args[i].key);
        free(d->args[i].text);
    }
    free(d->args);
    free(d->name);
    free(d->owner);
}

void pysrc_free(struct py_source *s)
{
    for (size_t i = 0; i < s->n_decorators; i++)
        free_decorator(&s->decorators[i]);
    free(s->decorators);
    for (size_t i = 0; i < s->n_services; i++)
        free(s->services[i]);
    free(s->services);
    free(s->service_lines);
    memset(s, 0, sizeof(*s));
}

const struct py_arg *
pysrc_arg(const struct py_decorator *d, const char *key, int pos)
{
    int positional = 0;

    for (size_t i = 0; i < d->n_args; i++)
        if (d->args[i].key && strcmp(d->args[i].key, key) == 0)
            return &d->args[i];
    for (size_t i = 0; i < d->n_args; i++) {
        if (d->args[i].key)
            continue;
        if (positional++ == pos)
            return &d->args[i];
    }
    return NULL;
}
