/*
 * Fault injection for the daemon's start, loaded with LD_PRELOAD: makes
 * eventfd() or pthread_create() fail as they do when the process is out of
 * descriptors or threads.
 *
 *   SFC_FAULT_EVENTFD=N         the Nth eventfd() call and every later one
 *                               fail with EMFILE (N counts from 1)
 *   SFC_FAULT_PTHREAD_CREATE=N  the Nth pthread_create() call and every
 *                               later one fail with EAGAIN
 *
 * Calls before the Nth go to the real functions.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>

static atomic_long eventfd_calls;
static atomic_long pthread_create_calls;

/* True when call number @n (from 1) is at or past the one @var names. */
static int fault_due(const char *var, long n)
{
    const char *v = getenv(var);
    long from = v ? strtol(v, NULL, 10) : 0;

    return from > 0 && n >= from;
}

int eventfd(unsigned int initval, int flags)
{
    int (*real)(unsigned int, int);

    if (fault_due("SFC_FAULT_EVENTFD",
                  atomic_fetch_add(&eventfd_calls, 1) + 1)) {
        errno = EMFILE;
        return -1;
    }
    real = (int (*)(unsigned int, int))dlsym(RTLD_NEXT, "eventfd");
    return real(initval, flags);
}

int pthread_create(pthread_t *thread,
                   const pthread_attr_t *attr,
                   void *(*start)(void *),
                   void *arg)
{
    int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

    if (fault_due("SFC_FAULT_PTHREAD_CREATE",
                  atomic_fetch_add(&pthread_create_calls, 1) + 1))
        return EAGAIN;
    real = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
                    void *))dlsym(RTLD_NEXT, "pthread_create");
    return real(thread, attr, start, arg);
}
