/*
 * The SOQL allowlist checker (see sfc_soql_check in sfc/rpc.h): every
 * object a statement can read, found by parsing it as Salesforce does:
 * its FROM, the FROM of each subquery (child relationships in the select
 * list, semi- and anti-joins in WHERE), each relationship a field path
 * traverses (in SELECT, WHERE, GROUP BY, HAVING, ORDER BY and inside
 * functions) and the types a TYPEOF can return. Whatever it does not fully
 * understand it refuses: no unknown function, no bind variable, no
 * non-ASCII outside string literals, no second statement.
 *
 * Pure: no I/O of its own; relationships are followed through the
 * caller's env->follow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rpc_int.h"

#define MAX_TOKENS 4096
#define MAX_DEPTH  8 /* nested subqueries, parentheses */
#define MAX_HOPS   5 /* relationship hops in one path, as Salesforce */
#define MAX_PATH   (MAX_HOPS + 2)
#define NAME_LEN   256

enum tok_kind { T_END, T_IDENT, T_NUMBER, T_STRING, T_PUNCT };

struct tok {
    enum tok_kind kind;
    size_t at, len; /* in the statement */
};

struct parser {
    const char *s;
    size_t n;
    struct tok t[MAX_TOKENS];
    size_t n_tok, i;
    size_t depth;
    const struct sfc_soql_env *env;
    enum sfc_soql_verdict verdict;
    char *why;
    size_t why_size;
};

/* The scope names resolve in: the object of a FROM and its alias. */
struct scope {
    char object[NAME_LEN];
    char alias[NAME_LEN];
};

static bool stop(const struct parser *p)
{
    return p->verdict != SFC_SOQL_ALLOWED;
}

static bool unclear(struct parser *p, const char *why)
{
    size_t at = p->i < p->n_tok ? p->t[p->i].at : p->n;

    if (!stop(p)) {
        p->verdict = SFC_SOQL_UNCLEAR;
        snprintf(p->why, p->why_size,
                 "the checker cannot follow the statement at byte %zu: %s", at,
                 why);
    }
    return false;
}

static bool refuse(struct parser *p, const char *object, const char *where)
{
    if (!stop(p)) {
        p->verdict = SFC_SOQL_REFUSED;
        snprintf(p->why, p->why_size, "it reads %s (%s)", object, where);
    }
    return false;
}

/* ---- lexer ---- */

static bool ident_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool ident_char(char c)
{
    return ident_start(c) || (c >= '0' && c <= '9');
}

/* Numbers, dates and datetimes: 5, -1.5, 2024-01-31, 2024-01-31T10:00:00Z,
 * 2024-01-31T10:00:00.000+01:00. */
static bool literal_char(char c)
{
    return ident_char(c) || c == '.' || c == ':' || c == '+' || c == '-';
}

static size_t string_end(const char *s, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\') {
            if (++i >= n)
                return 0;
        } else if (s[i] == '\'') {
            return i + 1;
        }
    }
    return 0;
}

static bool lex(struct parser *p)
{
    static const char *const two[] = {"!=", "<>", "<=", ">="};
    size_t i = 0;

    while (i < p->n) {
        char c = p->s[i];
        struct tok *t = &p->t[p->n_tok];

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            i++;
            continue;
        }
        if (p->n_tok + 1 >= MAX_TOKENS) {
            p->i = p->n_tok;
            return unclear(p, "too long");
        }
        t->at = i;
        if (ident_start(c)) {
            while (i < p->n && ident_char(p->s[i]))
                i++;
            t->kind = T_IDENT;
        } else if ((c >= '0' && c <= '9') ||
                   ((c == '-' || c == '+') && i + 1 < p->n &&
                    p->s[i + 1] >= '0' && p->s[i + 1] <= '9')) {
            for (i++; i < p->n && literal_char(p->s[i]); i++)
                ;
            t->kind = T_NUMBER;
        } else if (c == '\'') {
            size_t end = string_end(p->s, p->n, i);

            if (!end) {
                p->i = p->n_tok;
                return unclear(p, "a string literal does not end");
            }
            i = end;
            t->kind = T_STRING;
        } else if (strchr("(),.=<>:", c) && c) {
            i++;
            for (size_t k = 0; k < 4; k++)
                if (i < p->n && c == two[k][0] && p->s[i] == two[k][1]) {
                    i++;
                    break;
                }
            t->kind = T_PUNCT;
        } else if (c == '!' && i + 1 < p->n && p->s[i + 1] == '=') {
            i += 2;
            t->kind = T_PUNCT;
        } else {
            p->t[p->n_tok].at = i;
            p->i = p->n_tok;
            return unclear(p, (unsigned char)c >= 0x80
                                  ? "a character outside ASCII"
                                  : "an unexpected character");
        }
        t->len = i - t->at;
        p->n_tok++;
    }
    p->t[p->n_tok].kind = T_END;
    p->t[p->n_tok].at = p->n;
    p->t[p->n_tok].len = 0;
    return true;
}

/* ---- token helpers ---- */

static const struct tok *peek(const struct parser *p, size_t ahead)
{
    size_t k = p->i + ahead;

    return &p->t[k < p->n_tok ? k : p->n_tok];
}

static bool tok_is(const struct parser *p,
                   const struct tok *t,
                   enum tok_kind kind,
                   const char *text)
{
    return t->kind == kind && strlen(text) == t->len &&
           strncasecmp(p->s + t->at, text, t->len) == 0;
}

static bool is_kw(const struct parser *p, size_t ahead, const char *kw)
{
    return tok_is(p, peek(p, ahead), T_IDENT, kw);
}

static bool is_punct(const struct parser *p, size_t ahead, const char *text)
{
    return tok_is(p, peek(p, ahead), T_PUNCT, text);
}

static bool accept_kw(struct parser *p, const char *kw)
{
    if (!is_kw(p, 0, kw))
        return false;
    p->i++;
    return true;
}

static bool accept_punct(struct parser *p, const char *text)
{
    if (!is_punct(p, 0, text))
        return false;
    p->i++;
    return true;
}

/* The keyword (T_IDENT) or punctuation (T_PUNCT) @text must come next. */
static bool expect(struct parser *p, enum tok_kind kind, const char *text)
{
    char why[48];

    if (kind == T_IDENT ? accept_kw(p, text) : accept_punct(p, text))
        return true;
    snprintf(why, sizeof(why),
             kind == T_IDENT ? "%s expected" : "'%s' expected", text);
    return unclear(p, why);
}

static bool expect_kw(struct parser *p, const char *kw)
{
    return expect(p, T_IDENT, kw);
}

static bool expect_punct(struct parser *p, const char *text)
{
    return expect(p, T_PUNCT, text);
}

/* The identifier at the cursor into @out; false (unclear) otherwise. */
static bool take_ident(struct parser *p, char out[NAME_LEN])
{
    const struct tok *t = peek(p, 0);

    if (t->kind != T_IDENT || t->len >= NAME_LEN)
        return unclear(p, "a name expected");
    memcpy(out, p->s + t->at, t->len);
    out[t->len] = '\0';
    p->i++;
    return true;
}

static const char *const reserved[] = {
    "SELECT", "FROM",  "WHERE", "AND",    "OR",       "NOT",     "IN",
    "LIKE",   "GROUP", "BY",    "HAVING", "ORDER",    "LIMIT",   "OFFSET",
    "WITH",   "USING", "SCOPE", "FOR",    "UPDATE",   "ALL",     "ASC",
    "DESC",   "NULLS", "FIRST", "LAST",   "TYPEOF",   "WHEN",    "THEN",
    "ELSE",   "END",   "AS",    "ROWS",   "INCLUDES", "EXCLUDES"};

static bool is_reserved(const struct parser *p, size_t ahead)
{
    for (size_t k = 0; k < sizeof(reserved) / sizeof(reserved[0]); k++)
        if (is_kw(p, ahead, reserved[k]))
            return true;
    return false;
}

/* ---- what a name reads ---- */

static bool check_object(struct parser *p, const char *object, const char *ctx)
{
    if (p->env->allowed(p->env->opaque, object))
        return true;
    return refuse(p, object, ctx);
}

static void free_names(char **v, int n)
{
    for (int k = 0; k < n; k++)
        free(v[k]);
    free(v);
}

/*
 * Follows relationship @rel of @object; every object it leads to must be
 * allowed. Returns how many (> 0) with *targets set (free_names), or 0
 * with the verdict set.
 */
static int follow(struct parser *p,
                  const char *object,
                  const char *rel,
                  bool child,
                  char ***targets)
{
    char ctx[2 * NAME_LEN + 48];
    int n = p->env->follow(p->env->opaque, object, rel, child, targets);

    if (n < 0) {
        if (!stop(p)) {
            p->verdict = SFC_SOQL_LOOKUP_FAILED;
            snprintf(p->why, p->why_size,
                     "relationship %s of %s could not be looked up", rel,
                     object);
        }
        return 0;
    }
    if (n == 0) {
        snprintf(ctx, sizeof(ctx), "no %s relationship %s on %s",
                 child ? "child" : "parent", rel, object);
        unclear(p, ctx);
        return 0;
    }
    snprintf(ctx, sizeof(ctx), "%s relationship %s of %s",
             child ? "child" : "parent", rel, object);
    for (int k = 0; k < n; k++)
        if (!check_object(p, (*targets)[k], ctx)) {
            free_names(*targets, n);
            return 0;
        }
    return n;
}

/*
 * A field path a.b.c at the cursor: the alias or object name may come
 * first; every name but the last is a relationship to follow.
 */
static bool path(struct parser *p, const struct scope *sc)
{
    char comp[MAX_PATH][NAME_LEN], cur[NAME_LEN];
    size_t n = 0, from = 0;

    do {
        if (n == MAX_PATH)
            return unclear(p, "a field path too long");
        if (!take_ident(p, comp[n++]))
            return false;
    } while (accept_punct(p, "."));
    if (n > 1 && (strcasecmp(comp[0], sc->alias) == 0 ||
                  strcasecmp(comp[0], sc->object) == 0))
        from = 1;
    snprintf(cur, sizeof(cur), "%s", sc->object);
    for (size_t k = from; k + 1 < n; k++) {
        char **targets = NULL;
        int got = follow(p, cur, comp[k], false, &targets);

        if (!got)
            return false;
        if (got > 1 && k + 2 < n) {
            free_names(targets, got);
            return unclear(p, "a path through a polymorphic relationship");
        }
        snprintf(cur, sizeof(cur), "%s", targets[0]);
        free_names(targets, got);
    }
    return true;
}

/* ---- expressions ---- */

static const char *const functions[] = {"COUNT",
                                        "COUNT_DISTINCT",
                                        "SUM",
                                        "AVG",
                                        "MIN",
                                        "MAX",
                                        "GROUPING",
                                        "TOLABEL",
                                        "FORMAT",
                                        "CONVERTCURRENCY",
                                        "CONVERTTIMEZONE",
                                        "DISTANCE",
                                        "GEOLOCATION",
                                        "CALENDAR_MONTH",
                                        "CALENDAR_QUARTER",
                                        "CALENDAR_YEAR",
                                        "DAY_IN_MONTH",
                                        "DAY_IN_WEEK",
                                        "DAY_IN_YEAR",
                                        "DAY_ONLY",
                                        "FISCAL_MONTH",
                                        "FISCAL_QUARTER",
                                        "FISCAL_YEAR",
                                        "HOUR_IN_DAY",
                                        "WEEK_IN_MONTH",
                                        "WEEK_IN_YEAR",
                                        "ROLLUP",
                                        "CUBE"};

static bool is_function(const struct parser *p)
{
    if (peek(p, 0)->kind != T_IDENT || !is_punct(p, 1, "("))
        return false;
    for (size_t k = 0; k < sizeof(functions) / sizeof(functions[0]); k++)
        if (is_kw(p, 0, functions[k]))
            return true;
    return false;
}

static bool operand(struct parser *p, const struct scope *sc);

/* NAME(args): arguments are paths, literals or functions. */
static bool function(struct parser *p, const struct scope *sc)
{
    if (accept_kw(p, "FIELDS")) {
        if (!expect_punct(p, "("))
            return false;
        if (!accept_kw(p, "ALL") && !accept_kw(p, "STANDARD") &&
            !accept_kw(p, "CUSTOM"))
            return unclear(p, "FIELDS() takes ALL, STANDARD or CUSTOM");
        return expect_punct(p, ")");
    }
    if (!is_function(p))
        return unclear(p, "a function the checker does not know");
    p->i += 2;
    if (accept_punct(p, ")"))
        return true;
    do {
        if (!operand(p, sc))
            return false;
    } while (accept_punct(p, ","));
    return expect_punct(p, ")");
}

/* A literal: string, number, date, TRUE/NULL/TODAY/USD100, LAST_N_DAYS:n. */
static bool literal(struct parser *p)
{
    const struct tok *t = peek(p, 0);

    if (t->kind == T_STRING || t->kind == T_NUMBER) {
        p->i++;
        return true;
    }
    if (t->kind != T_IDENT || is_reserved(p, 0))
        return unclear(p, "a value expected");
    p->i++;
    if (accept_punct(p, ":")) {
        if (peek(p, 0)->kind != T_NUMBER)
            return unclear(p, "a number expected after ':'");
        p->i++;
    }
    return true;
}

/* A path, a function call or a literal (function arguments). */
static bool operand(struct parser *p, const struct scope *sc)
{
    const struct tok *t = peek(p, 0);

    if (p->depth > MAX_DEPTH)
        return unclear(p, "nested too deeply");
    if (is_kw(p, 0, "FIELDS") && is_punct(p, 1, "(")) {
        bool ok;

        p->depth++;
        ok = function(p, sc);
        p->depth--;
        return ok;
    }
    if (t->kind == T_IDENT && is_punct(p, 1, "(")) {
        bool ok;

        p->depth++;
        ok = function(p, sc);
        p->depth--;
        return ok;
    }
    if (t->kind == T_IDENT && !is_reserved(p, 0))
        return path(p, sc);
    return literal(p);
}

static bool
statement(struct parser *p, const struct scope *outer, bool semi_join);

/* ( value, ... ) or ( SELECT ... ) after IN. */
static bool value_list(struct parser *p, bool subquery_ok)
{
    if (!expect_punct(p, "("))
        return false;
    if (is_kw(p, 0, "SELECT")) {
        if (!subquery_ok)
            return unclear(p, "a subquery where values are expected");
        return statement(p, NULL, true) && expect_punct(p, ")");
    }
    do {
        if (!literal(p))
            return false;
    } while (accept_punct(p, ","));
    return expect_punct(p, ")");
}

static bool comparison(struct parser *p, const struct scope *sc)
{
    static const char *const ops[] = {"=", "!=", "<>", "<", "<=", ">", ">="};

    if (is_kw(p, 0, "FIELDS"))
        return unclear(p, "FIELDS() in a condition");
    if (peek(p, 0)->kind == T_IDENT && is_punct(p, 1, "(")) {
        if (!function(p, sc))
            return false;
    } else if (!path(p, sc)) {
        return false;
    }
    if (accept_kw(p, "NOT")) {
        if (accept_kw(p, "IN"))
            return value_list(p, true);
        return expect_kw(p, "LIKE") && literal(p);
    }
    if (accept_kw(p, "IN"))
        return value_list(p, true);
    if (accept_kw(p, "INCLUDES") || accept_kw(p, "EXCLUDES"))
        return value_list(p, false);
    if (accept_kw(p, "LIKE"))
        return literal(p);
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
        if (accept_punct(p, ops[k])) {
            if (is_punct(p, 0, ":"))
                return unclear(p, "a bind variable");
            return literal(p);
        }
    return unclear(p, "a comparison expected");
}

static bool condition(struct parser *p, const struct scope *sc);

static bool unary(struct parser *p, const struct scope *sc)
{
    bool ok;

    if (p->depth > MAX_DEPTH)
        return unclear(p, "nested too deeply");
    p->depth++;
    if (accept_kw(p, "NOT"))
        ok = unary(p, sc);
    else if (accept_punct(p, "("))
        ok = condition(p, sc) && expect_punct(p, ")");
    else
        ok = comparison(p, sc);
    p->depth--;
    return ok;
}

static bool condition(struct parser *p, const struct scope *sc)
{
    do {
        if (!unary(p, sc))
            return false;
    } while (accept_kw(p, "AND") || accept_kw(p, "OR"));
    return true;
}

/* ---- the select list ---- */

/* The fields after THEN or ELSE: names of the type, no paths. */
static bool typeof_fields(struct parser *p)
{
    char field[NAME_LEN];

    do {
        if (!take_ident(p, field))
            return false;
        if (is_punct(p, 0, "."))
            return unclear(p, "a path inside TYPEOF");
    } while (accept_punct(p, ","));
    return true;
}

/* TYPEOF rel WHEN Type THEN f, ... [ELSE f, ...] END */
static bool typeof_clause(struct parser *p, const struct scope *sc)
{
    char rel[NAME_LEN], type[NAME_LEN];
    char **targets = NULL;
    int n;
    bool any_when = false;

    if (!take_ident(p, rel))
        return false;
    if (is_punct(p, 0, "."))
        return unclear(p, "TYPEOF of a path");
    n = follow(p, sc->object, rel, false, &targets);
    if (!n)
        return false;
    free_names(targets, n);
    while (accept_kw(p, "WHEN")) {
        any_when = true;
        if (!take_ident(p, type) ||
            !check_object(p, type, "a TYPEOF WHEN type") ||
            !expect_kw(p, "THEN") || !typeof_fields(p))
            return false;
    }
    if (!any_when)
        return unclear(p, "TYPEOF without WHEN");
    /* ELSE reads every type the relationship can hold: follow() has
     * checked each of them already. */
    if (accept_kw(p, "ELSE") && !typeof_fields(p))
        return false;
    return expect_kw(p, "END");
}

static bool select_item(struct parser *p, const struct scope *sc)
{
    if (accept_punct(p, "(")) {
        if (!is_kw(p, 0, "SELECT"))
            return unclear(p, "a subquery expected");
        return statement(p, sc, false) && expect_punct(p, ")");
    }
    if (accept_kw(p, "TYPEOF"))
        return typeof_clause(p, sc);
    if (peek(p, 0)->kind == T_IDENT && is_punct(p, 1, "(")) {
        if (!function(p, sc))
            return false;
    } else if (!path(p, sc)) {
        return false;
    }
    /* An alias (COUNT(Id) total). */
    if (peek(p, 0)->kind == T_IDENT && !is_reserved(p, 0))
        p->i++;
    return true;
}

/* ---- clauses ---- */

/* Where this statement's FROM is (depth 0 of its parentheses). */
static bool find_from(struct parser *p, size_t *at)
{
    size_t depth = 0;

    for (size_t k = p->i; k < p->n_tok; k++) {
        const struct tok *t = &p->t[k];

        if (tok_is(p, t, T_PUNCT, "("))
            depth++;
        else if (tok_is(p, t, T_PUNCT, ")") && depth-- == 0)
            break;
        else if (depth == 0 && tok_is(p, t, T_IDENT, "FROM")) {
            *at = k;
            return true;
        }
    }
    return unclear(p, "FROM expected");
}

/* FROM object [alias] (or a child relationship of @outer). */
static bool from_clause(struct parser *p,
                        const struct scope *outer,
                        bool semi_join,
                        struct scope *sc)
{
    char name[NAME_LEN];

    if (!expect_kw(p, "FROM") || !take_ident(p, name))
        return false;
    if (is_punct(p, 0, "."))
        return unclear(p, "a path after FROM");
    if (outer) {
        char **targets = NULL;
        int n = follow(p, outer->object, name, true, &targets);

        if (!n)
            return false;
        snprintf(sc->object, sizeof(sc->object), "%s", targets[0]);
        free_names(targets, n);
        if (n > 1)
            return unclear(p, "a child relationship of several types");
    } else {
        if (!check_object(p, name, semi_join ? "a subquery's FROM" : "FROM"))
            return false;
        snprintf(sc->object, sizeof(sc->object), "%s", name);
    }
    sc->alias[0] = '\0';
    accept_kw(p, "AS");
    if (peek(p, 0)->kind == T_IDENT && !is_reserved(p, 0) &&
        !take_ident(p, sc->alias))
        return false;
    if (is_punct(p, 0, ","))
        return unclear(p, "several objects in FROM");
    return true;
}

static bool order_by(struct parser *p, const struct scope *sc)
{
    do {
        if (peek(p, 0)->kind == T_IDENT && is_punct(p, 1, "(")) {
            if (!function(p, sc))
                return false;
        } else if (!path(p, sc)) {
            return false;
        }
        if (!accept_kw(p, "ASC"))
            accept_kw(p, "DESC");
        if (accept_kw(p, "NULLS") && !accept_kw(p, "FIRST") &&
            !expect_kw(p, "LAST"))
            return false;
    } while (accept_punct(p, ","));
    return true;
}

static bool number(struct parser *p)
{
    if (peek(p, 0)->kind != T_NUMBER)
        return unclear(p, "a number expected");
    p->i++;
    return true;
}

/* What may follow WHERE: WITH, GROUP BY ... OFFSET, FOR, UPDATE. */
static bool tail(struct parser *p, const struct scope *sc)
{
    if (accept_kw(p, "WITH") && !accept_kw(p, "SECURITY_ENFORCED") &&
        !accept_kw(p, "USER_MODE") && !accept_kw(p, "SYSTEM_MODE"))
        return unclear(p, "a WITH filter the checker does not know");
    if (accept_kw(p, "GROUP")) {
        if (!expect_kw(p, "BY"))
            return false;
        do {
            if (!operand(p, sc))
                return false;
        } while (accept_punct(p, ","));
        if (accept_kw(p, "HAVING") && !condition(p, sc))
            return false;
    }
    if (accept_kw(p, "ORDER") && (!expect_kw(p, "BY") || !order_by(p, sc)))
        return false;
    if (accept_kw(p, "LIMIT") && !number(p))
        return false;
    if (accept_kw(p, "OFFSET") && !number(p))
        return false;
    if (accept_kw(p, "FOR") && !accept_kw(p, "VIEW") &&
        !accept_kw(p, "REFERENCE") && !expect_kw(p, "UPDATE"))
        return false;
    if (accept_kw(p, "UPDATE") && !accept_kw(p, "TRACKING") &&
        !expect_kw(p, "VIEWSTAT"))
        return false;
    if (accept_kw(p, "ALL") && !expect_kw(p, "ROWS"))
        return false;
    return true;
}

/*
 * SELECT ... FROM ... at the cursor, up to its end (the end of the text,
 * or the ')' closing a subquery, left for the caller). @outer: the scope
 * whose child relationship the FROM names (a subquery in a select list);
 * @semi_join: a subquery in WHERE, whose FROM is an object.
 */
static bool
statement(struct parser *p, const struct scope *outer, bool semi_join)
{
    struct scope sc;
    char scope_name[NAME_LEN];
    size_t select_at, from_at, end_at;
    bool ok = true;

    if (p->depth > MAX_DEPTH)
        return unclear(p, "nested too deeply");
    p->depth++;
    if (!expect_kw(p, "SELECT") || !find_from(p, &from_at)) {
        p->depth--;
        return false;
    }
    /* The select list is read once its FROM says what names mean. */
    select_at = p->i;
    p->i = from_at;
    if (!from_clause(p, outer, semi_join, &sc))
        ok = false;
    else if (accept_kw(p, "USING") &&
             (!expect_kw(p, "SCOPE") || !take_ident(p, scope_name)))
        ok = false;
    if (ok && accept_kw(p, "WHERE") && !condition(p, &sc))
        ok = false;
    ok = ok && tail(p, &sc);
    end_at = p->i;
    if (ok) {
        p->i = select_at;
        do {
            ok = select_item(p, &sc);
        } while (ok && accept_punct(p, ","));
        if (ok && p->i != from_at)
            ok = unclear(p, "',' or FROM expected");
        p->i = end_at;
    }
    p->depth--;
    return ok;
}

enum sfc_soql_verdict sfc_soql_check(const char *soql,
                                     size_t len,
                                     const struct sfc_soql_env *env,
                                     char *why,
                                     size_t why_size)
{
    struct parser *p = sfc_xcalloc(1, sizeof(*p));
    char scratch[8];
    enum sfc_soql_verdict v;

    p->s = soql;
    p->n = len;
    p->env = env;
    p->why = why && why_size ? why : scratch;
    p->why_size = why && why_size ? why_size : sizeof(scratch);
    p->why[0] = '\0';
    if (lex(p)) {
        if (p->n_tok == 0)
            unclear(p, "an empty statement");
        else if (statement(p, NULL, false) && peek(p, 0)->kind != T_END)
            unclear(p, "text after the statement");
    }
    v = p->verdict;
    free(p);
    return v;
}
