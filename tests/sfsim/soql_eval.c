/*
 * soql_eval.c - evaluation of a parsed SOQL WHERE clause against a record,
 * and ORDER BY comparison. Text comparisons are case-insensitive, "= null"
 * tests emptiness, ids compare in their 15-char case-sensitive form.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_int.h"
#include "soql_int.h"

static const cJSON *get_ci(const cJSON *obj, const char *name, size_t len)
{
    const cJSON *it;
    if (!cJSON_IsObject(obj))
        return NULL;
    cJSON_ArrayForEach(it, obj)
    {
        if (it->string && strlen(it->string) == len &&
            strncasecmp(it->string, name, len) == 0)
            return it;
    }
    return NULL;
}

const cJSON *sq_get(const cJSON *record, const char *field)
{
    const char *dot = strchr(field, '.');
    const cJSON *v;

    if (!dot)
        return get_ci(record, field, strlen(field));
    v = get_ci(record, field, (size_t)(dot - field));
    return v ? sq_get(v, dot + 1) : NULL;
}

static bool is_empty(const cJSON *v)
{
    return !v || cJSON_IsNull(v) ||
           (cJSON_IsString(v) && v->valuestring[0] == '\0');
}

static bool id_shaped(const char *s)
{
    size_t n = strlen(s), i;
    if (n != 15 && n != 18)
        return false;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]))
            return false;
    for (i = 0; i < 3; i++)
        if (isdigit((unsigned char)s[i]))
            return true;
    return false;
}

static int cmp_text(const char *a, const char *b)
{
    if (id_shaped(a) && id_shaped(b) && strlen(a) != strlen(b))
        return strncmp(a, b, 15);
    return strcasecmp(a, b);
}

/* -2 = not comparable; else <0, 0, >0. */
static int cmp_value(const cJSON *fv, const struct sq_value *v)
{
    int64_t ms;

    switch (v->kind) {
    case SQ_STR:
        if (cJSON_IsString(fv))
            return cmp_text(fv->valuestring, v->s);
        if (cJSON_IsNumber(fv)) {
            double d = strtod(v->s, NULL);
            return fv->valuedouble < d ? -1 : fv->valuedouble > d;
        }
        return -2;
    case SQ_NUM:
        if (cJSON_IsNumber(fv))
            return fv->valuedouble < v->num ? -1 : fv->valuedouble > v->num;
        if (cJSON_IsString(fv)) {
            double d = strtod(fv->valuestring, NULL);
            return d < v->num ? -1 : d > v->num;
        }
        return -2;
    case SQ_BOOL:
        if (!cJSON_IsBool(fv))
            return -2;
        return (int)cJSON_IsTrue(fv) - (int)v->b;
    case SQ_DATE:
        if (!cJSON_IsString(fv) || !sim_parse_datetime(fv->valuestring, &ms))
            return -2;
        if (ms < v->from_ms)
            return -1;
        return ms >= v->to_ms ? 1 : 0;
    case SQ_NULL:
        return -2;
    }
    return -2;
}

static bool eval_cmp(const cJSON *fv, enum sq_op op, const struct sq_value *v)
{
    int c;

    if (v->kind == SQ_NULL) {
        if (op == SQ_EQ)
            return is_empty(fv);
        if (op == SQ_NE)
            return !is_empty(fv);
        return false;
    }
    if (is_empty(fv))
        return op == SQ_NE;
    c = cmp_value(fv, v);
    if (c == -2)
        return op == SQ_NE;
    switch (op) {
    case SQ_EQ:
        return c == 0;
    case SQ_NE:
        return c != 0;
    case SQ_LT:
        return c < 0;
    case SQ_LE:
        return c <= 0;
    case SQ_GT:
        return c > 0;
    case SQ_GE:
        return c >= 0;
    }
    return false;
}

/* Case-insensitive LIKE with % and _ and \% \_ escapes. */
static bool like(const char *s, const char *pat)
{
    for (; *pat; pat++, s++) {
        if (*pat == '%') {
            while (*pat == '%')
                pat++;
            if (!*pat)
                return true;
            for (; *s; s++)
                if (like(s, pat))
                    return true;
            return false;
        }
        if (!*s)
            return false;
        if (*pat == '\\' && (pat[1] == '%' || pat[1] == '_')) {
            pat++;
            if (*s != *pat)
                return false;
            continue;
        }
        if (*pat != '_' &&
            tolower((unsigned char)*pat) != tolower((unsigned char)*s))
            return false;
    }
    return *s == '\0';
}

static bool eval(const struct sq_cond *c, const cJSON *rec)
{
    const cJSON *fv;
    size_t i;

    switch (c->kind) {
    case SQ_AND:
        return eval(c->l, rec) && eval(c->r, rec);
    case SQ_OR:
        return eval(c->l, rec) || eval(c->r, rec);
    case SQ_NOT:
        return !eval(c->l, rec);
    case SQ_CMP:
        return eval_cmp(sq_get(rec, c->field), c->op, &c->vals[0]);
    case SQ_IN:
        fv = sq_get(rec, c->field);
        for (i = 0; i < c->n_vals; i++)
            if (eval_cmp(fv, SQ_EQ, &c->vals[i]))
                return !c->negate;
        return c->negate;
    case SQ_LIKE:
        fv = sq_get(rec, c->field);
        if (!cJSON_IsString(fv))
            return c->negate;
        return like(fv->valuestring, c->vals[0].s) != c->negate;
    }
    return false;
}

bool sim_soql_match(const struct sim_soql *q, const cJSON *record)
{
    return !q->where || eval(q->where, record);
}

static int cmp_json(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return a->valuedouble < b->valuedouble
                   ? -1
                   : a->valuedouble > b->valuedouble;
    if (cJSON_IsBool(a) && cJSON_IsBool(b))
        return (int)cJSON_IsTrue(a) - (int)cJSON_IsTrue(b);
    if (cJSON_IsString(a) && cJSON_IsString(b))
        return strcasecmp(a->valuestring, b->valuestring);
    return 0;
}

int sim_soql_compare(const struct sim_soql *q, const cJSON *a, const cJSON *b)
{
    size_t i;
    for (i = 0; i < q->n_order; i++) {
        const struct sq_order *o = &q->order[i];
        const cJSON *va = sq_get(a, o->field), *vb = sq_get(b, o->field);
        bool na = is_empty(va), nb = is_empty(vb);
        int c;
        if (na || nb) {
            if (na && nb)
                continue;
            c = na ? -1 : 1;
            return o->nulls_last ? -c : c;
        }
        c = cmp_json(va, vb);
        if (c)
            return o->desc ? -c : c;
    }
    return 0;
}
