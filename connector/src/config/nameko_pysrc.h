/*
 * nameko_pysrc.h - reads a Nameko service's Python source for what
 * import-nameko-config maps: the service's name and its nameko-salesforce
 * entrypoint decorators (@subscribe, @handle_notification,
 * @handle_sobject_notification) with their literal arguments, and whether
 * it uses the SalesforceAPI dependency. Not a Python parser: decorators
 * whose arguments are not literals are reported as such, never guessed.
 *
 * Thread: any (pure).
 */
#ifndef SFC_CONNECTOR_NAMEKO_PYSRC_H
#define SFC_CONNECTOR_NAMEKO_PYSRC_H

#include <stdbool.h>
#include <stddef.h>

enum py_value {
    PY_STR = 0, /* 'text' or "text" (escapes decoded); text holds it */
    PY_TRUE,
    PY_FALSE,
    PY_NONE,
    PY_NUMBER, /* text holds it as written */
    PY_NAME,   /* a dotted name (NotifyForFields.select); text holds it */
    PY_OTHER,  /* anything else (an expression); text holds it as written */
};

struct py_arg {
    char *key; /* NULL for a positional argument */
    enum py_value type;
    char *text;
};

struct py_decorator {
    int line;    /* 1-based, of the '@' */
    char *name;  /* the last part of the dotted name: "subscribe" */
    char *owner; /* the name of the Nameko service class it is in, or
                    NULL */
    struct py_arg *args;
    size_t n_args;
};

struct py_source {
    struct py_decorator *decorators; /* nameko-salesforce ones only */
    size_t n_decorators;
    char **services; /* every class-level `name = "..."`, in order */
    int *service_lines;
    size_t n_services;
    int salesforce_api_line; /* first SalesforceAPI( use, or 0 */
};

/* Scans @text (NUL-terminated) into @out (zeroed first). */
void pysrc_scan(const char *text, struct py_source *out);

void pysrc_free(struct py_source *s);

/* The argument named @key, else positional @pos (-1: none), else NULL. */
const struct py_arg *
pysrc_arg(const struct py_decorator *d, const char *key, int pos);

#endif
