/*
 * soql.c - lexer and recursive-descent parser for the SOQL subset.
 * Errors use Salesforce's echo+caret message form:
 *   "\n<query>\n<spaces>^\nERROR at Row:1:Column:N\nunexpected token: 'X'"
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_int.h"
#include "soql_int.h"
#include "sfc/common.h"

enum tk { T_EOF, T_IDENT, T_STR, T_NUM, T_PUNCT };

struct parser {
    const char *src;
    size_t pos;    /* next char */
    enum tk t;     /* current token */
    size_t tstart; /* its offset */
    char *tval;    /* its text (unescaped for strings) */
    char *errstr;
    size_t errsz;
    bool failed;
    struct sim_soql *q;
};

static void
fail_at(struct parser *p, size_t at, const char *fmt, const char *arg)
{
    char msg[256];
    char *line;
    size_t len = strlen(p->src), i;

    if (p->failed)
        return;
    p->failed = true;
    snprintf(msg, sizeof(msg), fmt, arg);
    line = sfc_xmalloc(at + 2);
    for (i = 0; i < at && i < len; i++)
        line[i] = ' ';
    line[i] = '^';
    line[i + 1] = '\0';
    snprintf(p->errstr, p->errsz, "\n%s\n%s\nERROR at Row:1:Column:%zu\n%s",
             p->src, line, at + 1, msg);
    free(line);
}

static void fail_tok(struct parser *p)
{
    fail_at(p, p->tstart, "unexpected token: '%s'",
            p->t == T_EOF ? "<EOF>" : p->tval);
}

static bool lex_string(struct parser *p)
{
    struct sfc_buf b;
    const char *s = p->src;
    char c;

    sfc_buf_init(&b, 0);
    sfc_buf_append(&b, "", 0);
    p->pos++;
    for (;;) {
        c = s[p->pos];
        if (c == '\0') {
            sfc_buf_free(&b);
            fail_at(p, p->tstart, "%s", "unterminated string literal");
            return false;
        }
        p->pos++;
        if (c == '\'')
            break;
        if (c == '\\') {
            char e = s[p->pos], out;
            if (e)
                p->pos++;
            switch (e) {
            case 'n':
                out = '\n';
                break;
            case 'r':
                out = '\r';
                break;
            case 't':
                out = '\t';
                break;
            case 'b':
                out = '\b';
                break;
            case 'f':
                out = '\f';
                break;
            case '\'':
            case '"':
            case '\\':
                out = e;
                break;
            case '%':
            case '_': { /* kept escaped for LIKE */
                char two[2] = {'\\', e};
                sfc_buf_append(&b, two, 2);
                continue;
            }
            default:
                sfc_buf_free(&b);
                fail_at(p, p->pos - 2, "%s", "Invalid string literal");
                return false;
            }
            sfc_buf_append(&b, &out, 1);
            continue;
        }
        sfc_buf_append(&b, &c, 1);
    }
    p->t = T_STR;
    p->tval = sfc_buf_steal(&b);
    return true;
}

static void next(struct parser *p)
{
    const char *s = p->src;
    size_t st;

    free(p->tval);
    p->tval = NULL;
    while (isspace((unsigned char)s[p->pos]))
        p->pos++;
    st = p->tstart = p->pos;
    if (!s[st]) {
        p->t = T_EOF;
        p->tval = sfc_xstrdup("");
        return;
    }
    if (s[st] == '\'') {
        if (!lex_string(p))
            p->t = T_EOF;
        return;
    }
    if (isalpha((unsigned char)s[st]) || s[st] == '_') {
        while (isalnum((unsigned char)s[p->pos]) || s[p->pos] == '_' ||
               s[p->pos] == '.' || s[p->pos] == ':')
            p->pos++;
        p->t = T_IDENT;
    } else if (isdigit((unsigned char)s[st]) ||
               ((s[st] == '-' || s[st] == '+') &&
                isdigit((unsigned char)s[st + 1]))) {
        p->pos++;
        while (isalnum((unsigned char)s[p->pos]) ||
               (s[p->pos] && strchr(".:-+", s[p->pos]) != NULL))
            p->pos++;
        p->t = T_NUM;
    } else if (strchr("<>!", s[st]) && s[st + 1] == '=') {
        p->pos += 2;
        p->t = T_PUNCT;
    } else if (s[st] == '<' && s[st + 1] == '>') {
        p->pos += 2;
        p->t = T_PUNCT;
    } else {
        p->pos++;
        p->t = T_PUNCT;
    }
    p->tval = sfc_xstrndup(s + st, p->pos - st);
}

static bool is_kw(const struct parser *p, const char *kw)
{
    return p->t == T_IDENT && strcasecmp(p->tval, kw) == 0;
}

static bool is_punct(const struct parser *p, const char *s)
{
    return p->t == T_PUNCT && strcmp(p->tval, s) == 0;
}

static bool expect_kw(struct parser *p, const char *kw)
{
    if (!is_kw(p, kw)) {
        fail_tok(p);
        return false;
    }
    next(p);
    return true;
}

static bool expect_punct(struct parser *p, const char *s)
{
    if (!is_punct(p, s)) {
        fail_tok(p);
        return false;
    }
    next(p);
    return true;
}

static const char *const RESERVED[] = {
    "SELECT", "FROM", "WHERE", "ORDER", "BY",     "LIMIT",
    "OFFSET", "AND",  "OR",    "NOT",   "IN",     "LIKE",
    "ASC",    "DESC", "NULLS", "GROUP", "HAVING", NULL};

static bool is_reserved(const char *s)
{
    size_t i;
    for (i = 0; RESERVED[i]; i++)
        if (strcasecmp(s, RESERVED[i]) == 0)
            return true;
    return false;
}

/* A field name token; returns a copy or NULL. */
static char *field_name(struct parser *p)
{
    char *f;
    if (p->t != T_IDENT || is_reserved(p->tval) || strchr(p->tval, ':')) {
        fail_tok(p);
        return NULL;
    }
    if (strchr(p->tval, '.'))
        p->q->has_rel = true;
    f = sfc_xstrdup(p->tval);
    next(p);
    return f;
}

static void push_str(char ***arr, size_t *n, char *s)
{
    *arr = sfc_xrealloc(*arr, (*n + 1) * sizeof(char *));
    (*arr)[(*n)++] = s;
}

static bool parse_select(struct parser *p)
{
    if (is_kw(p, "COUNT")) {
        next(p);
        if (!expect_punct(p, "(") || !expect_punct(p, ")"))
            return false;
        p->q->count = true;
        return true;
    }
    for (;;) {
        char *f = field_name(p);
        if (!f)
            return false;
        if (is_punct(p, "(")) {
            free(f);
            fail_tok(p);
            return false;
        }
        push_str(&p->q->fields, &p->q->n_fields, f);
        if (!is_punct(p, ","))
            return true;
        next(p);
    }
}

static bool parse_value(struct parser *p, struct sq_value *v);
static struct sq_cond *parse_cond(struct parser *p);

static bool parse_date_literal(struct parser *p, struct sq_value *v)
{
    int64_t now = sfc_wall_ms(), day = 86400000;
    int64_t today = now - now % day;
    const char *s = p->tval;

    v->kind = SQ_DATE;
    if (strcasecmp(s, "TODAY") == 0) {
        v->from_ms = today;
        v->to_ms = today + day;
    } else if (strcasecmp(s, "YESTERDAY") == 0) {
        v->from_ms = today - day;
        v->to_ms = today;
    } else if (strncasecmp(s, "LAST_N_DAYS:", 12) == 0 && atoi(s + 12) >= 0) {
        v->from_ms = today - (int64_t)atoi(s + 12) * day;
        v->to_ms = today + day;
    } else {
        return false;
    }
    return true;
}

static bool parse_number_or_date(struct parser *p, struct sq_value *v)
{
    char *end = NULL;
    int64_t ms;

    if (strchr(p->tval + 1, '-') && sim_parse_datetime(p->tval, &ms)) {
        v->kind = SQ_DATE;
        v->from_ms = ms;
        v->is_datetime = strchr(p->tval, 'T') != NULL;
        v->to_ms = v->is_datetime ? ms + 1 : ms + 86400000;
        return true;
    }
    v->kind = SQ_NUM;
    v->num = strtod(p->tval, &end);
    return end && *end == '\0';
}

static bool parse_value(struct parser *p, struct sq_value *v)
{
    memset(v, 0, sizeof(*v));
    if (p->t == T_STR) {
        v->kind = SQ_STR;
        v->s = sfc_xstrdup(p->tval);
    } else if (p->t == T_NUM) {
        if (!parse_number_or_date(p, v)) {
            fail_tok(p);
            return false;
        }
    } else if (is_kw(p, "true") || is_kw(p, "false")) {
        v->kind = SQ_BOOL;
        v->b = is_kw(p, "true");
    } else if (is_kw(p, "null")) {
        v->kind = SQ_NULL;
    } else if (p->t == T_IDENT && parse_date_literal(p, v)) {
        /* done */
    } else {
        fail_tok(p);
        return false;
    }
    next(p);
    return true;
}

static void note_where_field(struct parser *p, const char *f)
{
    size_t i;
    for (i = 0; i < p->q->n_where_fields; i++)
        if (strcasecmp(p->q->where_fields[i], f) == 0)
            return;
    push_str(&p->q->where_fields, &p->q->n_where_fields, sfc_xstrdup(f));
}

static bool parse_in_list(struct parser *p, struct sq_cond *c)
{
    if (!expect_punct(p, "("))
        return false;
    for (;;) {
        c->vals = sfc_xrealloc(c->vals, (c->n_vals + 1) * sizeof(*c->vals));
        if (!parse_value(p, &c->vals[c->n_vals]))
            return false;
        c->n_vals++;
        if (is_punct(p, ")")) {
            next(p);
            return true;
        }
        if (!expect_punct(p, ","))
            return false;
    }
}

static const struct {
    const char *s;
    enum sq_op op;
} OPS[] = {{"=", SQ_EQ},  {"!=", SQ_NE}, {"<>", SQ_NE}, {"<", SQ_LT},
           {"<=", SQ_LE}, {">", SQ_GT},  {">=", SQ_GE}};

static bool parse_cmp_tail(struct parser *p, struct sq_cond *c)
{
    size_t i;

    if (is_kw(p, "NOT")) {
        c->negate = true;
        next(p);
        if (!is_kw(p, "IN") && !is_kw(p, "LIKE")) {
            fail_tok(p);
            return false;
        }
    }
    if (is_kw(p, "IN")) {
        next(p);
        c->kind = SQ_IN;
        return parse_in_list(p, c);
    }
    if (is_kw(p, "LIKE")) {
        next(p);
        c->kind = SQ_LIKE;
        c->vals = sfc_xcalloc(1, sizeof(*c->vals));
        c->n_vals = 1;
        if (p->t != T_STR) {
            fail_tok(p);
            return false;
        }
        return parse_value(p, &c->vals[0]);
    }
    for (i = 0; i < sizeof(OPS) / sizeof(OPS[0]); i++) {
        if (is_punct(p, OPS[i].s)) {
            next(p);
            c->kind = SQ_CMP;
            c->op = OPS[i].op;
            c->vals = sfc_xcalloc(1, sizeof(*c->vals));
            c->n_vals = 1;
            return parse_value(p, &c->vals[0]);
        }
    }
    fail_tok(p);
    return false;
}

static struct sq_cond *parse_unary(struct parser *p)
{
    struct sq_cond *c = sfc_xcalloc(1, sizeof(*c));

    if (is_kw(p, "NOT")) {
        next(p);
        p->q->has_not = true;
        c->kind = SQ_NOT;
        c->l = parse_unary(p);
        return c;
    }
    if (is_punct(p, "(")) {
        free(c);
        next(p);
        c = parse_cond(p);
        if (!p->failed)
            expect_punct(p, ")");
        return c;
    }
    c->field = field_name(p);
    if (!c->field)
        return c;
    note_where_field(p, c->field);
    parse_cmp_tail(p, c);
    return c;
}

static struct sq_cond *
join(enum sq_ckind k, struct sq_cond *l, struct sq_cond *r)
{
    struct sq_cond *c = sfc_xcalloc(1, sizeof(*c));
    c->kind = k;
    c->l = l;
    c->r = r;
    return c;
}

static struct sq_cond *parse_conj(struct parser *p)
{
    struct sq_cond *c = parse_unary(p);
    while (!p->failed && is_kw(p, "AND")) {
        next(p);
        c = join(SQ_AND, c, parse_unary(p));
    }
    return c;
}

static struct sq_cond *parse_cond(struct parser *p)
{
    struct sq_cond *c = parse_conj(p);
    while (!p->failed && is_kw(p, "OR")) {
        next(p);
        c = join(SQ_OR, c, parse_conj(p));
    }
    return c;
}

static bool parse_order(struct parser *p)
{
    struct sim_soql *q = p->q;
    for (;;) {
        struct sq_order *o;
        char *f = field_name(p);
        if (!f)
            return false;
        q->order = sfc_xrealloc(q->order, (q->n_order + 1) * sizeof(*o));
        o = &q->order[q->n_order++];
        o->field = f;
        o->desc = false;
        if (is_kw(p, "ASC") || is_kw(p, "DESC")) {
            o->desc = is_kw(p, "DESC");
            next(p);
        }
        o->nulls_last = o->desc;
        if (is_kw(p, "NULLS")) {
            next(p);
            if (!is_kw(p, "FIRST") && !is_kw(p, "LAST")) {
                fail_tok(p);
                return false;
            }
            o->nulls_last = is_kw(p, "LAST");
            next(p);
        }
        if (!is_punct(p, ","))
            return true;
        next(p);
    }
}

static bool parse_int(struct parser *p, long *out)
{
    char *end = NULL;
    long v;
    if (p->t != T_NUM) {
        fail_tok(p);
        return false;
    }
    v = strtol(p->tval, &end, 10);
    if (!end || *end || v < 0) {
        fail_tok(p);
        return false;
    }
    *out = v;
    next(p);
    return true;
}

static bool parse_query(struct parser *p)
{
    struct sim_soql *q = p->q;

    if (!expect_kw(p, "SELECT") || !parse_select(p) || !expect_kw(p, "FROM"))
        return false;
    if (p->t != T_IDENT || is_reserved(p->tval) || strchr(p->tval, '.')) {
        fail_tok(p);
        return false;
    }
    q->object = sfc_xstrdup(p->tval);
    next(p);
    if (is_kw(p, "WHERE")) {
        next(p);
        q->where = parse_cond(p);
        if (p->failed)
            return false;
    }
    if (is_kw(p, "ORDER")) {
        next(p);
        if (!expect_kw(p, "BY") || !parse_order(p))
            return false;
    }
    if (is_kw(p, "LIMIT")) {
        next(p);
        if (!parse_int(p, &q->limit))
            return false;
    }
    if (is_kw(p, "OFFSET")) {
        next(p);
        if (!parse_int(p, &q->offset))
            return false;
    }
    if (p->t != T_EOF) {
        fail_tok(p);
        return false;
    }
    return true;
}

struct sim_soql *sim_soql_parse(const char *query,
                                char *errstr,
                                size_t errstr_size,
                                const char **code)
{
    struct parser p;

    memset(&p, 0, sizeof(p));
    p.src = query;
    p.errstr = errstr;
    p.errsz = errstr_size;
    p.q = sfc_xcalloc(1, sizeof(*p.q));
    p.q->text = sfc_xstrdup(query);
    p.q->limit = p.q->offset = -1;
    next(&p);
    if (!p.failed)
        parse_query(&p);
    free(p.tval);
    if (p.failed) {
        sim_soql_free(p.q);
        if (code)
            *code = "MALFORMED_QUERY";
        return NULL;
    }
    return p.q;
}

static void cond_free(struct sq_cond *c)
{
    size_t i;
    if (!c)
        return;
    cond_free(c->l);
    cond_free(c->r);
    free(c->field);
    for (i = 0; i < c->n_vals; i++)
        free(c->vals[i].s);
    free(c->vals);
    free(c);
}

void sim_soql_free(struct sim_soql *q)
{
    size_t i;
    if (!q)
        return;
    for (i = 0; i < q->n_fields; i++)
        free(q->fields[i]);
    free(q->fields);
    for (i = 0; i < q->n_where_fields; i++)
        free(q->where_fields[i]);
    free(q->where_fields);
    for (i = 0; i < q->n_order; i++)
        free(q->order[i].field);
    free(q->order);
    cond_free(q->where);
    free(q->object);
    free(q->text);
    free(q);
}

const char *sim_soql_object(const struct sim_soql *q)
{
    return q->object;
}

size_t sim_soql_select_count(const struct sim_soql *q)
{
    return q->n_fields;
}

const char *sim_soql_select_field(const struct sim_soql *q, size_t i)
{
    return i < q->n_fields ? q->fields[i] : NULL;
}

size_t sim_soql_where_count(const struct sim_soql *q)
{
    return q->n_where_fields;
}

const char *sim_soql_where_field(const struct sim_soql *q, size_t i)
{
    return i < q->n_where_fields ? q->where_fields[i] : NULL;
}

bool sim_soql_has_where(const struct sim_soql *q)
{
    return q->where != NULL;
}

bool sim_soql_has_order_by(const struct sim_soql *q)
{
    return q->n_order > 0;
}

bool sim_soql_has_limit(const struct sim_soql *q)
{
    return q->limit >= 0;
}

bool sim_soql_has_offset(const struct sim_soql *q)
{
    return q->offset >= 0;
}

bool sim_soql_has_not(const struct sim_soql *q)
{
    return q->has_not;
}

bool sim_soql_is_count(const struct sim_soql *q)
{
    return q->count;
}

bool sim_soql_has_relationship(const struct sim_soql *q)
{
    return q->has_rel;
}
