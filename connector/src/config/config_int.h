/*
 * config_int.h - the table that describes every configuration key, shared by
 * the loader, the printer and --help-config.
 */
#ifndef SFC_CONNECTOR_CONFIG_INT_H
#define SFC_CONNECTOR_CONFIG_INT_H

#include <stddef.h>

#include "config.h"

enum cfg_type {
    CFG_STR = 0,
    CFG_INT,
    CFG_BOOL,
    CFG_ENUM,    /* stored as int; value = index into allowed[] */
    CFG_STRLIST, /* char ** at offset, size_t count at count_offset */
    CFG_LIST,    /* array of groups described by sub */
    CFG_ROW,     /* const void * to the row of a table named so (a row's
                    first member is its const char *name; a row named NULL
                    ends the table) */
};

#define CFG_F_SECRET 0x1 /* never printed or logged */
#define CFG_F_URI    0x2 /* may hold a password inside; printed redacted */

struct cfg_table;

struct cfg_key {
    const char *name;
    enum cfg_type type;
    size_t offset;    /* within the section (or list element) struct */
    const char *def;  /* default as written in a file; NULL = unset */
    int64_t min, max; /* CFG_INT range; min > max means unbounded */
    const char *const *allowed; /* CFG_ENUM values, NULL-terminated */
    const char *desc;
    unsigned flags;
    const void *rows;            /* CFG_ROW: the table's rows */
    size_t row_size;             /* CFG_ROW: the size of one */
    const struct cfg_table *sub; /* CFG_LIST element table */
    size_t count_offset;         /* CFG_STRLIST, CFG_LIST */
};

/* A group of keys: a section of the file or one element of a list. */
struct cfg_table {
    const char *name; /* section name, or list element description */
    size_t offset;    /* of the section within struct sfc_config */
    const struct cfg_key *keys;
    size_t n_keys;
    size_t elem_size;   /* list elements only */
    size_t line_offset; /* list elements: offset of their `int line` */
    const char *desc;
};

extern const struct cfg_table cfg_sections[];
extern const size_t cfg_n_sections;

extern const char *const cfg_auth_names[];
extern const char *const cfg_rpc_operation_names[];

/* Finds @name among @n candidates that are within a small edit distance. */
const char *
cfg_suggest(const char *name, const char *const *candidates, size_t n);

/*
 * The name of value @i of a CFG_ENUM or CFG_ROW key, NULL past the last
 * one: the names a value may be written as.
 */
const char *cfg_choice(const struct cfg_key *k, size_t i);

/* Address of a key's storage in a section or element struct. */
static inline void *cfg_field(void *base, const struct cfg_key *k)
{
    return (char *)base + k->offset;
}

static inline const void *cfg_cfield(const void *base, const struct cfg_key *k)
{
    return (const char *)base + k->offset;
}

/* Frees every string and list that @t describes inside @base. */
void cfg_free_table(const struct cfg_table *t, void *base);

/* Parses a default (as written in a file) into @base's field for @k. */
void cfg_set_default(const struct cfg_key *k, void *base);

/*
 * sfc_config_expand_env() that also appends "${NAME}" (", "-separated) to
 * @vars (may be NULL) for every variable referenced.
 */
sfc_err_t cfg_expand_env(const char *in,
                         char **out,
                         struct sfc_buf *vars,
                         char *errstr,
                         size_t errstr_size);

/* Type name for help output ("string", "integer", ...). */
const char *cfg_type_name(const struct cfg_key *k);

#endif
