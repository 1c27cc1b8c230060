/* Test helpers: sfsim child processes and small HTTP calls over libcurl. */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <curl/curl.h>

#include <cjson/cJSON.h>

#include "testutil.h"

const char *tu_bin(const char *name, char *out, size_t size)
{
    const char *dir = getenv("SFC_BIN_DIR");

    snprintf(out, size, "%s/%s", dir && *dir ? dir : SFC_DEFAULT_BIN_DIR, name);
    return out;
}

static char amqp_uri_buf[512];

static void amqp_uri_once(void)
{
    const char *u = getenv("SFC_TEST_AMQP_URI");
    const char *scheme_end = u ? strstr(u, "://") : NULL;
    size_t n = u ? strlen(u) : 0;

    if (!u || !*u)
        u = "amqp://guest:guest@127.0.0.1:5672/";
    else if (scheme_end && n > 2 && u + n - 2 > scheme_end + 3 &&
             strcmp(u + n - 2, "//") == 0) {
        snprintf(amqp_uri_buf, sizeof(amqp_uri_buf), "%.*s/%%2F", (int)(n - 2),
                 u);
        return;
    }
    snprintf(amqp_uri_buf, sizeof(amqp_uri_buf), "%s", u);
}

const char *tu_amqp_uri(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, amqp_uri_once);
    return amqp_uri_buf;
}

int tu_tmpdir(char *out, size_t size)
{
    const char *base = getenv("TMPDIR");

    snprintf(out, size, "%s/sfc-test-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(out) ? 0 : -1;
}

int tu_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

void tu_rmtree(const char *path)
{
    pid_t pid;

    if (!path || !*path)
        return;
    pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", "--", path, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

int sfsim_start(struct sfsim_proc *p, const char *const *extra_args)
{
    char bin[512], urlfile[512], logfile[512];
    const char *argv[64];
    int argc = 0;
    int64_t deadline;

    memset(p, 0, sizeof(*p));
    if (tu_tmpdir(p->dir, sizeof(p->dir)) != 0) {
        perror("sfsim_start: mkdtemp");
        return -1;
    }
    tu_bin("sfsim", bin, sizeof(bin));
    snprintf(urlfile, sizeof(urlfile), "%s/url", p->dir);
    snprintf(logfile, sizeof(logfile), "%s/sfsim.log", p->dir);
    argv[argc++] = bin;
    argv[argc++] = "--port";
    argv[argc++] = "0";
    argv[argc++] = "--url-file";
    argv[argc++] = urlfile;
    for (int i = 0; extra_args && extra_args[i] && argc < 62; i++)
        argv[argc++] = extra_args[i];
    argv[argc] = NULL;

    p->pid = fork();
    if (p->pid < 0) {
        perror("sfsim_start: fork");
        return -1;
    }
    if (p->pid == 0) {
        /* Keep sfsim's log beside the test output when asked to. */
        if (!getenv("SFC_TEST_SFSIM_STDERR")) {
            int fd = open(logfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);

            if (fd >= 0) {
                dup2(fd, STDERR_FILENO);
                dup2(fd, STDOUT_FILENO);
                close(fd);
            }
        }
        /* A test that dies (failed assertion, crash) takes sfsim along. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execv(bin, (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    deadline = sfc_now_ms() + 10000;
    while (sfc_now_ms() < deadline) {
        FILE *f = fopen(urlfile, "r");
        int status;

        if (f) {
            char line[256] = "";

            if (fgets(line, sizeof(line), f) && strchr(line, '\n')) {
                fclose(f);
                line[strcspn(line, "\r\n")] = '\0';
                snprintf(p->url, sizeof(p->url), "%s", line);
                return 0;
            }
            fclose(f);
        }
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            fprintf(stderr,
                    "sfsim_start: sfsim exited early (status %d); "
                    "log in %s\n",
                    status, logfile);
            p->pid = 0;
            return -1;
        }
        sfc_sleep_ms(20);
    }
    fprintf(stderr, "sfsim_start: sfsim did not listen within 10 s\n");
    sfsim_stop(p);
    return -1;
}

void sfsim_stop(struct sfsim_proc *p)
{
    if (p->pid > 0) {
        int64_t deadline = sfc_now_ms() + 3000;
        int status;

        kill(p->pid, SIGTERM);
        while (waitpid(p->pid, &status, WNOHANG) == 0) {
            if (sfc_now_ms() > deadline) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, &status, 0);
                break;
            }
            sfc_sleep_ms(10);
        }
        p->pid = 0;
    }
    if (p->dir[0] && !getenv("SFC_TEST_KEEP"))
        tu_rmtree(p->dir);
    p->dir[0] = '\0';
}

struct sfsim_proc tu_sim;

int tu_sim_setup(void **state)
{
    (void)state;
    return sfsim_start(&tu_sim, NULL);
}

int tu_sim_teardown(void **state)
{
    (void)state;
    sfsim_stop(&tu_sim);
    return 0;
}

static size_t collect(char *data, size_t size, size_t n, void *opaque)
{
    if (sfc_buf_append(opaque, data, size * n) != SFC_OK)
        return 0;
    return size * n;
}

long tu_http(const char *method,
             const char *url,
             const char *const *headers,
             const char *body,
             char **resp_body)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hl = NULL;
    struct sfc_buf buf;
    long status = -1;

    sfc_buf_init(&buf, 0);
    for (int i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    /* Only ever our own simulator on loopback, often with a test CA. */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &buf);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    if (resp_body)
        *resp_body = sfc_buf_steal(&buf);
    else
        sfc_buf_free(&buf);
    return status;
}

int64_t sfsim_counter(const struct sfsim_proc *p, const char *name)
{
    char *body = NULL;
    cJSON *root, *v;
    int64_t n = 0;

    sfsim_control(p, "/_sim/stats", NULL, &body);
    root = body ? cJSON_Parse(body) : NULL;
    v = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "counters"), name);
    if (cJSON_IsNumber(v))
        n = (int64_t)v->valuedouble;
    cJSON_Delete(root);
    free(body);
    return n;
}

bool sfsim_wait_counter(const struct sfsim_proc *p,
                        const char *name,
                        int64_t at_least,
                        int64_t timeout_ms)
{
    int64_t deadline = sfc_now_ms() + timeout_ms;

    while (sfsim_counter(p, name) < at_least) {
        if (sfc_now_ms() > deadline)
            return false;
        sfc_sleep_ms(20);
    }
    return true;
}

long sfsim_control(const struct sfsim_proc *p,
                   const char *path,
                   const char *json,
                   char **resp_body)
{
    static const char *const hdr[] = {"Content-Type: application/json", NULL};
    char url[512];

    snprintf(url, sizeof(url), "%s%s", p->url, path);
    return tu_http(json ? "POST" : "GET", url, hdr, json, resp_body);
}
