/*
 * The tree-less JSON check and the member lookup's three answers: what the
 * check accepts and refuses, always beside what cJSON says of the same
 * text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sfc/common.h"

static bool valid(const char *text)
{
    char err[128];

    return sfc_json_valid(text, strlen(text), err, sizeof(err));
}

static bool cjson_accepts(const char *text)
{
    cJSON *j = cJSON_ParseWithLength(text, strlen(text));

    cJSON_Delete(j);
    return j != NULL;
}

static void accepts_json(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{}",
        "[]",
        " \t\r\n{\"a\" : [ 1 , -0 , 0.5 , -12.5e+3 , 1E-2 , 7e9 ] } \n",
        "{\"channel\":\"/topic/A\",\"data\":{\"event\":{\"replayId\":12,"
        "\"type\":\"updated\"},\"sobject\":{\"Name\":\"Ann\",\"Ok\":true,"
        "\"No\":false,\"Nil\":null,\"Deep\":[[[{}]]]}}}",
        "\"just a string\"",
        "0",
        "true",
        "null",
        /* Escapes, a surrogate pair, UTF-8 of two, three and four bytes. */
        "[\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\"]",
        "{\"name\":\"Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"}",
        /* Long strings: the sixteen-byte scan and its tail. */
        "[\"0123456789abcdef0123456789abcdef0123456789\","
        "\"0123456789abcdef\xc3\xa9"
        "0123456789abcdef\"]",
        /* 63 characters of number: cJSON reads that many. */
        "[123456789012345678901234567890123456789012345678901234567890123]",
    };

    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        if (!valid(docs[i]))
            fail_msg("refused: %s", docs[i]);
        assert_true(cjson_accepts(docs[i]));
    }
}

static void refuses_what_is_not_json(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "",
        "   ",
        "{",
        "{\"a\":1",
        "{\"a\":1,}",
        "[1,]",
        "[,1]",
        "{\"a\" 1}",
        "{a:1}",
        "{\"a\":1}}",
        "{\"a\":1} x",
        "[1 2]",
        "[01]",
        "[1.]",
        "[.5]",
        "[+1]",
        "[1e]",
        "[-]",
        "[0x10]",
        "[tru]",
        "[nul]",
        "[True]",
        "[NaN]",
        "[\"unterminated]",
        "[\"a\\x\"]",
        "[\"\\u12G4\"]",
        "[\"\\u12\"]",
        "[\"\\uDC00\"]",
        "[\"\\uD800\"]",
        "[\"\\uD800\\u0041\"]",
        "[\"tab\there\"]",
        "[\"\x01\"]",
        /* Bytes that are not UTF-8: a lone continuation, an overlong
         * slash, a surrogate, past U+10FFFF, a cut sequence, 0xff. */
        "[\"\x80\"]",
        "[\"\xc0\xaf\"]",
        "[\"\xed\xa0\x80\"]",
        "[\"\xf4\x90\x80\x80\"]",
        "[\"\xe6\x97\"]",
        "[\"\xff\"]",
        /* 64 characters of number. */
        "[1234567890123456789012345678901234567890123456789012345678901234]",
    };
    char err[128];

    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        if (valid(docs[i]))
            fail_msg("accepted: %s", docs[i]);
    }
    assert_false(sfc_json_valid(NULL, 0, err, sizeof(err)));
    assert_false(sfc_json_valid("[1,2", 4, err, sizeof(err)));
    assert_string_equal(err,
                        "invalid JSON at byte 4: text ends inside a value");
    assert_false(sfc_json_valid("[\"\xc3\"]", 5, err, sizeof(err)));
    assert_non_null(strstr(err, "UTF-8"));
    /* A NUL byte is no more JSON than any other control byte. */
    assert_false(sfc_json_valid("[\"a\0b\"]", 7, err, sizeof(err)));
    assert_true(sfc_json_valid("[\"a\\u0000b\"]", 12, err, sizeof(err)));
}

static void nesting_is_bounded(void **state)
{
    (void)state;
    char text[2 * 600 + 1];
    char err[128];

    for (size_t depth = 510; depth <= 514; depth++) {
        memset(text, '[', depth);
        memset(text + depth, ']', depth);
        assert_int_equal(sfc_json_valid(text, 2 * depth, err, sizeof(err)),
                         depth <= 512);
    }
    assert_non_null(strstr(err, "nested too deeply"));
    /* Objects and arrays alternate: each level keeps its own kind. */
    assert_true(valid("{\"a\":[{\"b\":[1,{\"c\":{}}],\"d\":2},3],\"e\":[]}"));
    assert_false(valid("{\"a\":[{\"b\":[1,{\"c\":{}}],\"d\":2},3}"));
    assert_false(valid("[{\"a\":1]}"));
}

static void member_lookup_tells_absent_from_unsure(void **state)
{
    (void)state;
    const char *v = NULL;
    size_t n = 0;

    assert_int_equal(
        sfc_json_member_find("{\"a\":1, \"b\" : \"x\" }", 20, "b", &v, &n),
        SFC_JSON_FOUND);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "\"x\"", 3);
    assert_int_equal(sfc_json_member_find("{\"a\":1,\"b\":2}", 13, "c", &v, &n),
                     SFC_JSON_ABSENT);
    assert_int_equal(sfc_json_member_find(" { } ", 5, "c", &v, &n),
                     SFC_JSON_ABSENT);
    /* An escaped key might be the one asked for: a parser decides. */
    assert_int_equal(
        sfc_json_member_find("{\"\\u0063\":1,\"b\":2}", 18, "c", &v, &n),
        SFC_JSON_UNSURE);
    /* Found before the escaped key: the first member of a name counts. */
    assert_int_equal(
        sfc_json_member_find("{\"c\":1,\"\\u0063\":2}", 18, "c", &v, &n),
        SFC_JSON_FOUND);
    assert_int_equal(sfc_json_member_find("[1]", 3, "c", &v, &n),
                     SFC_JSON_UNSURE);
    assert_int_equal(sfc_json_member_find("{\"a\":1", 6, "c", &v, &n),
                     SFC_JSON_UNSURE);
    assert_int_equal(sfc_json_member_find("{\"a\":1,}", 8, "c", &v, &n),
                     SFC_JSON_UNSURE);
}

static void members_found_while_checking(void **state)
{
    static const char doc[] =
        "{ \"data\" : {\"channel\":\"inner\",\"x\":[{}]} , \"n\":-1.5e3,"
        "\"channel\":\"/topic/A\",\"channel\":\"second\"}";
    static const char esc[] = "{\"a\":1,\"\\u0062\":2,\"b\":3}";
    struct sfc_json_member m[4] = {
        {.key = "channel"}, {.key = "data"}, {.key = "n"}, {.key = "none"}};
    char err[128];

    (void)state;
    assert_true(
        sfc_json_valid_object(doc, strlen(doc), m, 4, err, sizeof(err)));
    /* The top level's first "channel", not the nested one. */
    assert_int_equal(m[0].found, SFC_JSON_FOUND);
    assert_int_equal(m[0].len, 10);
    assert_memory_equal(m[0].val, "\"/topic/A\"", 10);
    assert_int_equal(m[1].found, SFC_JSON_FOUND);
    assert_int_equal(m[1].len, 28);
    assert_memory_equal(m[1].val, "{\"channel\":\"inner\",\"x\":[{}]}", 28);
    assert_int_equal(m[2].found, SFC_JSON_FOUND);
    assert_memory_equal(m[2].val, "-1.5e3", m[2].len);
    assert_int_equal(m[3].found, SFC_JSON_ABSENT);
    assert_null(m[3].val);

    /* After a key written with escapes nothing is certain. */
    assert_true(
        sfc_json_valid_object(esc, strlen(esc), m, 4, err, sizeof(err)));
    assert_int_equal(m[0].found, SFC_JSON_UNSURE); /* absent, or escaped */
    m[0].key = "a";
    m[1].key = "b";
    assert_true(
        sfc_json_valid_object(esc, strlen(esc), m, 2, err, sizeof(err)));
    assert_int_equal(m[0].found, SFC_JSON_FOUND); /* before it */
    assert_int_equal(m[1].found, SFC_JSON_UNSURE);

    /* Not an object, or not JSON. */
    assert_false(sfc_json_valid_object("[1]", 3, m, 2, err, sizeof(err)));
    assert_non_null(strstr(err, "not an object"));
    assert_false(
        sfc_json_valid_object("{\"a\":01}", 8, m, 2, err, sizeof(err)));
    assert_true(sfc_json_valid_object(" {} ", 4, m, 2, err, sizeof(err)));
    assert_int_equal(m[0].found, SFC_JSON_ABSENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_json),
        cmocka_unit_test(refuses_what_is_not_json),
        cmocka_unit_test(nesting_is_bounded),
        cmocka_unit_test(member_lookup_tells_absent_from_unsure),
        cmocka_unit_test(members_found_while_checking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
