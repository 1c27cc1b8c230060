/* The logger: levels, per-module debug, formats, secret scrubbing, files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "sfc/common.h"
#include "testutil.h"

struct capture {
    char lines[64][1024];
    int n;
};

static void sink(void *opaque, enum sfc_log_level level, const char *line)
{
    struct capture *c = opaque;

    (void)level;
    if (c->n < 64)
        snprintf(c->lines[c->n++], sizeof(c->lines[0]), "%s", line);
}

static int setup(void **state)
{
    struct capture *c = calloc(1, sizeof(*c));

    sfc_log_configure(SFC_LOG_INFO, SFC_LOG_TEXT, NULL);
    sfc_log_clear_secrets();
    /* Lines still go to stderr too; send them to /dev/null. */
    sfc_log_open("/dev/null", NULL, 0);
    sfc_log_set_sink(sink, c);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    sfc_log_set_sink(NULL, NULL);
    sfc_log_open(NULL, NULL, 0);
    sfc_log_clear_secrets();
    free(*state);
    return 0;
}

static void levels_filter_lines(void **state)
{
    struct capture *c = *state;

    sfc_log(SFC_LOG_DEBUG, "api", "hidden %d", 1);
    sfc_log(SFC_LOG_INFO, "api", "shown %d", 2);
    sfc_log(SFC_LOG_ERROR, "api", "bad %s", "thing");
    assert_int_equal(c->n, 2);
    assert_non_null(strstr(c->lines[0], "info  [api] shown 2"));
    assert_non_null(strstr(c->lines[1], "error [api] bad thing"));
}

static void per_module_debug(void **state)
{
    struct capture *c = *state;

    sfc_log_configure(SFC_LOG_WARN, SFC_LOG_TEXT, "streaming,rpc");
    sfc_log(SFC_LOG_DEBUG, "streaming", "s");
    sfc_log(SFC_LOG_DEBUG, "rpc", "r");
    sfc_log(SFC_LOG_DEBUG, "api", "a");
    sfc_log(SFC_LOG_DEBUG, "stream", "prefix must not match");
    sfc_log(SFC_LOG_INFO, "streaming", "info stays off");
    assert_int_equal(c->n, 2);
    sfc_log_configure(SFC_LOG_ERROR, SFC_LOG_TEXT, "all");
    sfc_log(SFC_LOG_DEBUG, "anything", "x");
    assert_int_equal(c->n, 3);
}

static void json_lines_escape_and_fold(void **state)
{
    struct capture *c = *state;
    cJSON *root;

    sfc_log_configure(SFC_LOG_INFO, SFC_LOG_JSON, NULL);
    sfc_log(SFC_LOG_WARN, "connector", "quote \" slash \\ tab\t nl\nend");
    assert_int_equal(c->n, 1);
    assert_null(strchr(c->lines[0], '\n'));
    root = cJSON_Parse(c->lines[0]);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItem(root, "msg")->valuestring,
                        "quote \" slash \\ tab\t nl end");
    assert_string_equal(cJSON_GetObjectItem(root, "level")->valuestring,
                        "warn");
    assert_string_equal(cJSON_GetObjectItem(root, "module")->valuestring,
                        "connector");
    assert_non_null(cJSON_GetObjectItem(root, "ts"));
    cJSON_Delete(root);
}

static void registered_secrets_never_appear(void **state)
{
    struct capture *c = *state;

    sfc_log_add_secret("hunter2-password");
    sfc_log_add_secret("00Dxx!AQ4AQFakeTokenValue");
    sfc_log_add_secret("abc"); /* too short to be masked */
    sfc_log(SFC_LOG_ERROR, "api",
            "login with hunter2-password failed; "
            "token=00Dxx!AQ4AQFakeTokenValue and again hunter2-password");
    assert_int_equal(c->n, 1);
    assert_null(strstr(c->lines[0], "hunter2"));
    assert_null(strstr(c->lines[0], "FakeToken"));
    assert_non_null(strstr(c->lines[0], "login with **** failed; "
                                        "token=**** and again ****"));
    sfc_log(SFC_LOG_INFO, "api", "abc stays");
    assert_non_null(strstr(c->lines[1], "abc stays"));
}

static void level_names_round_trip(void **state)
{
    enum sfc_log_level l;

    (void)state;
    assert_true(sfc_log_level_parse("DEBUG", &l));
    assert_int_equal(l, SFC_LOG_DEBUG);
    assert_true(sfc_log_level_parse("warn", &l));
    assert_string_equal(sfc_log_level_name(l), "warn");
    assert_false(sfc_log_level_parse("verbose", &l));
    assert_false(sfc_log_level_parse(NULL, &l));
}

static void file_output_and_reopen(void **state)
{
    char dir[256], path[300], moved[300], text[4096];
    char err[256];
    FILE *f;
    size_t n;

    (void)state;
    assert_int_equal(tu_tmpdir(dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/sfc.log", dir);
    snprintf(moved, sizeof(moved), "%s/sfc.log.1", dir);
    assert_int_equal(sfc_log_open(path, err, sizeof(err)), SFC_OK);
    sfc_log(SFC_LOG_INFO, "t", "first");
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(sfc_log_reopen(), SFC_OK);
    sfc_log(SFC_LOG_INFO, "t", "second");
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    assert_null(strstr(text, "first"));
    assert_non_null(strstr(text, "second"));
    assert_int_equal(sfc_log_open("/nonexistent-dir/x.log", err, sizeof(err)),
                     SFC_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent-dir/x.log"));
    sfc_log_open("/dev/null", NULL, 0);
    tu_rmtree(dir);
}

static void *spam(void *arg)
{
    (void)arg;
    for (int i = 0; i < 500; i++)
        sfc_log(SFC_LOG_INFO, "thread", "line %d from a thread", i);
    return NULL;
}

static void lines_from_threads_stay_whole(void **state)
{
    char dir[256], path[300], line[512];
    pthread_t th[4];
    FILE *f;
    int count = 0;

    (void)state;
    sfc_log_set_sink(NULL, NULL);
    assert_int_equal(tu_tmpdir(dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/t.log", dir);
    assert_int_equal(sfc_log_open(path, NULL, 0), SFC_OK);
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, spam, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        assert_non_null(strstr(line, "info  [thread] line "));
        assert_non_null(strstr(line, " from a thread\n"));
        count++;
    }
    fclose(f);
    assert_int_equal(count, 2000);
    sfc_log_open("/dev/null", NULL, 0);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(levels_filter_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(per_module_debug, setup, teardown),
        cmocka_unit_test_setup_teardown(json_lines_escape_and_fold, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(registered_secrets_never_appear, setup,
                                        teardown),
        cmocka_unit_test(level_names_round_trip),
        cmocka_unit_test_setup_teardown(file_output_and_reopen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(lines_from_threads_stay_whole, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
