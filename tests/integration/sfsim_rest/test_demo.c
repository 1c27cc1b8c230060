/*
 * sfsim_rest_demo: --demo seeds records and PushTopics and keeps creating
 * Contacts and Leads; --help prints the built-in defaults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rest_util.h"
#include "sfc/common.h"

static int count(const struct sfsim_proc *p, const char *obj)
{
    char *path = sfc_xasprintf("/_sim/records/%s", obj);
    char *body = NULL;
    cJSON *j;
    int n = -1;

    if (sfsim_control(p, path, NULL, &body) == 200) {
        j = cJSON_Parse(body);
        n = cJSON_GetArraySize(j);
        cJSON_Delete(j);
    }
    free(body);
    free(path);
    return n;
}

static void test_demo_activity(void **state)
{
    const char *args[] = {"--demo", NULL};
    struct sfsim_proc p;
    int64_t deadline;
    int first, now = 0;

    (void)state;
    assert_int_equal(sfsim_start(&p, args), 0);
    assert_int_equal(count(&p, "PushTopic"), 2);
    first = count(&p, "Contact");
    assert_true(first >= 3);
    deadline = sfc_now_ms() + 10000;
    while (sfc_now_ms() < deadline) {
        now = count(&p, "Contact");
        if (now >= first + 2)
            break;
        sfc_sleep_ms(100);
    }
    assert_true(now >= first + 2);
    assert_true(count(&p, "Lead") >= 5);
    sfsim_stop(&p);
}

static void test_help(void **state)
{
    char bin[512], cmd[600], out[4096];
    FILE *f;
    size_t n;

    (void)state;
    tu_bin("sfsim", bin, sizeof(bin));
    snprintf(cmd, sizeof(cmd), "%s --help", bin);
    f = popen(cmd, "r");
    assert_non_null(f);
    n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = '\0';
    assert_int_equal(pclose(f), 0);
    assert_non_null(strstr(out, "demo@sfsim.local"));
    assert_non_null(strstr(out, "sfsim-client-id"));
    assert_non_null(strstr(out, "--connect-timeout"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_activity),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
