/*
 * soql_int.h - the parsed form of the SOQL subset (rest-wire.md 8.4),
 * shared by the parser (soql.c) and the evaluator (soql_eval.c).
 */
#ifndef SFSIM_SOQL_INT_H
#define SFSIM_SOQL_INT_H

#include "sim.h"

enum sq_vkind { SQ_STR, SQ_NUM, SQ_BOOL, SQ_NULL, SQ_DATE };

struct sq_value {
    enum sq_vkind kind;
    char *s; /* SQ_STR: unescaped text (LIKE: raw pattern) */
    double num;
    bool b;
    int64_t from_ms; /* SQ_DATE: [from, to) */
    int64_t to_ms;
    bool is_datetime;
};

enum sq_op { SQ_EQ, SQ_NE, SQ_LT, SQ_LE, SQ_GT, SQ_GE };

enum sq_ckind { SQ_AND, SQ_OR, SQ_NOT, SQ_CMP, SQ_IN, SQ_LIKE };

struct sq_cond {
    enum sq_ckind kind;
    struct sq_cond *l, *r; /* AND/OR: both; NOT: l */
    char *field;
    enum sq_op op;
    bool negate; /* NOT IN / NOT LIKE */
    struct sq_value *vals;
    size_t n_vals;
};

struct sq_order {
    char *field;
    bool desc;
    bool nulls_last;
};

struct sim_soql {
    char *text;
    char *object;
    char **fields;
    size_t n_fields;
    bool count;
    struct sq_cond *where;
    struct sq_order *order;
    size_t n_order;
    long limit;  /* -1 none */
    long offset; /* -1 none */
    bool has_not;
    bool has_rel;
    char **where_fields;
    size_t n_where_fields;
};

/* Field value by (possibly dotted) name, case-insensitive; NULL if none. */
const cJSON *sq_get(const cJSON *record, const char *field);

/* Orders two records by the query's ORDER BY; qsort-style result. */
int sim_soql_compare(const struct sim_soql *q, const cJSON *a, const cJSON *b);

#endif
