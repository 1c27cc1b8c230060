/*
 * testutil.h - helpers shared by integration tests and benchmarks: start and
 * stop sfsim on a free port, talk to its control plane, find the broker.
 */
#ifndef SFC_TESTUTIL_H
#define SFC_TESTUTIL_H

#include <sys/types.h>

#include "sfc/common.h"

struct sfsim_proc {
    pid_t pid;
    char url[256]; /* base URL, e.g. http://127.0.0.1:40123 */
    char dir[256]; /* private temporary directory */
};

/*
 * Starts the sfsim binary with "--port 0 --url-file F" plus @extra_args
 * (NULL-terminated, may be NULL) and waits up to 10 s for it to listen.
 * Returns 0 on success, -1 (with a message on stderr) otherwise.
 */
int sfsim_start(struct sfsim_proc *p, const char *const *extra_args);

/* SIGTERM, then SIGKILL after 3 s; reaps the child; removes the directory. */
void sfsim_stop(struct sfsim_proc *p);

/*
 * The simulator the cases of one test program share: tu_sim_setup(), a
 * cmocka group setup, starts it without extra arguments (0 or -1);
 * tu_sim_teardown() stops it. @state is not used.
 * Thread: the test's main thread.
 */
extern struct sfsim_proc tu_sim;
int tu_sim_setup(void **state);
int tu_sim_teardown(void **state);

/*
 * HTTP request to @url (method "GET", "POST", ...). @body may be NULL.
 * @headers is a NULL-terminated list or NULL. Returns the HTTP status, or -1
 * on a transport failure. *resp_body (may be NULL) is malloc'ed, caller frees.
 */
long tu_http(const char *method,
             const char *url,
             const char *const *headers,
             const char *body,
             char **resp_body);

/* POST @json to sfsim's @path (e.g. "/_sim/fault"); returns the status. */
long sfsim_control(const struct sfsim_proc *p,
                   const char *path,
                   const char *json,
                   char **resp_body);

/* sfsim's counter @name (/_sim/stats), 0 when absent. */
int64_t sfsim_counter(const struct sfsim_proc *p, const char *name);

/* Waits until sfsim's counter @name reaches @at_least; false after
 * @timeout_ms. */
bool sfsim_wait_counter(const struct sfsim_proc *p,
                        const char *name,
                        int64_t at_least,
                        int64_t timeout_ms);

/* The broker URI for tests: $SFC_TEST_AMQP_URI or
 * amqp://guest:guest@127.0.0.1:5672/. Kombu's "//" for the default vhost
 * comes back as "/%2F", the same vhost written so that rabbitmq-c's
 * amqp_parse_url() reads it too (the benchmarks' raw clients use it). */
const char *tu_amqp_uri(void);

/* Path of a built program: $SFC_BIN_DIR/<name> (or the build's bin dir). */
const char *tu_bin(const char *name, char *out, size_t size);

/* A fresh private temporary directory (mkdtemp) under $TMPDIR. */
int tu_tmpdir(char *out, size_t size);

/*
 * A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's
 * choice for port 0), or -1. Another process may still take it before the
 * caller binds, so callers that start a server retry on failure.
 */
int tu_free_port(void);

/* Removes a directory tree (rm -rf). */
void tu_rmtree(const char *path);

/* CPU time (user + system, µs) process @pid has used so far (/proc), -1 when
 * unknown. */
int64_t tu_cpu_us(pid_t pid);

/* This process's CPU time, and its waited-for children's (µs). */
int64_t tu_cpu_self_us(void);
int64_t tu_cpu_children_us(void);

/* Context switches (voluntary and not) of the live threads of @pid so far
 * (/proc/<pid>/task/<tid>/status); -1 when unknown. */
int64_t tu_proc_switches(pid_t pid);

/* The machine's busy (all but idle and iowait) and total CPU time so far,
 * µs summed over every CPU (/proc/stat). */
void tu_machine_cpu(int64_t *busy, int64_t *total);

/* The process listening on the port of tu_amqp_uri() (the tests' broker),
 * found through /proc; -1 when it cannot be (remote, or not readable). */
pid_t tu_broker_pid(void);

#endif
