/* Test helpers: CPU time of processes and of the machine, from /proc. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "testutil.h"

int64_t tu_cpu_us(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command may hold spaces */
    if (!p || sscanf(p + 2,
                     "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
                     "%llu",
                     &ut, &st) != 2)
        return -1;
    return (int64_t)((ut + st) * 1000000ULL /
                     (unsigned long long)sysconf(_SC_CLK_TCK));
}

int64_t tu_proc_switches(pid_t pid)
{
    char path[300], line[128];
    struct dirent *e;
    int64_t sum = 0;
    long long v;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    d = opendir(path);
    if (!d)
        return -1;
    while ((e = readdir(d))) {
        FILE *f;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%.32s/status", (int)pid,
                 e->d_name);
        f = fopen(path, "r");
        if (!f)
            continue; /* the thread ended */
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "voluntary_ctxt_switches: %lld", &v) == 1 ||
                sscanf(line, "nonvoluntary_ctxt_switches: %lld", &v) == 1)
                sum += v;
        fclose(f);
    }
    closedir(d);
    return sum;
}

static int64_t rusage_us(int who)
{
    struct rusage ru;

    getrusage(who, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
           ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

int64_t tu_cpu_self_us(void)
{
    return rusage_us(RUSAGE_SELF);
}

int64_t tu_cpu_children_us(void)
{
    return rusage_us(RUSAGE_CHILDREN);
}

void tu_machine_cpu(int64_t *busy, int64_t *total)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    int64_t tick = 1000000 / sysconf(_SC_CLK_TCK), sum = 0;

    if (f) {
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
            memset(v, 0, sizeof(v));
        fclose(f);
    }
    for (int i = 0; i < 8; i++)
        sum += (int64_t)v[i];
    *total = sum * tick;
    /* All but idle and iowait. */
    *busy = (sum - (int64_t)v[3] - (int64_t)v[4]) * tick;
}

/* The inode of the socket listening on TCP @port (IPv4 or IPv6), 0: none. */
static unsigned long listening_inode(int port)
{
    static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    unsigned long inode = 0;

    for (int t = 0; t < 2 && !inode; t++) {
        FILE *f = fopen(tables[t], "r");
        char line[512];

        while (f && !inode && fgets(line, sizeof(line), f)) {
            unsigned lport, st;
            unsigned long ino;

            if (sscanf(line,
                       " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*s %*s "
                       "%*s %*s %*s %lu",
                       &lport, &st, &ino) == 3 &&
                (int)lport == port && st == 0x0A /* LISTEN */)
                inode = ino;
        }
        if (f)
            fclose(f);
    }
    return inode;
}

/* The port of tu_amqp_uri() (5672 when it names none), -1 if unreadable. */
static int broker_port(void)
{
    CURLU *u = curl_url();
    char *port = NULL;
    int n = -1;

    if (curl_url_set(u, CURLUPART_URL, tu_amqp_uri(),
                     CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK)
        n = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK ? atoi(port)
                                                                   : 5672;
    curl_free(port);
    curl_url_cleanup(u);
    return n;
}

pid_t tu_broker_pid(void)
{
    char want[64], path[600], link[64];
    int port = broker_port();
    unsigned long inode = port > 0 ? listening_inode(port) : 0;
    DIR *proc = inode ? opendir("/proc") : NULL;
    struct dirent *p;
    pid_t found = -1;

    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    while (proc && found < 0 && (p = readdir(proc)) != NULL) {
        DIR *fds;
        struct dirent *fd;

        if (p->d_name[0] < '0' || p->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
        fds = opendir(path);
        while (fds && found < 0 && (fd = readdir(fds)) != NULL) {
            ssize_t n;

            snprintf(path, sizeof(path), "/proc/%s/fd/%s", p->d_name,
                     fd->d_name);
            n = readlink(path, link, sizeof(link) - 1);
            if (n > 0) {
                link[n] = '\0';
                if (strcmp(link, want) == 0)
                    found = (pid_t)atoi(p->d_name);
            }
        }
        if (fds)
            closedir(fds);
    }
    if (proc)
        closedir(proc);
    return found;
}
