/*
 * util.c - small parsing and formatting helpers: form fields, Salesforce
 * datetimes, API versions.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "sim_int.h"
#include "sfc/common.h"

char *sim_form_get(const char *form, const char *name)
{
    size_t nlen = strlen(name);
    const char *p = form;

    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            char *v = sfc_xstrndup(p + nlen + 1, len - nlen - 1), *c;
            for (c = v; *c; c++)
                if (*c == '+')
                    *c = ' ';
            MHD_http_unescape(v);
            return v;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static void format_datetime(int64_t ms, const char *zone, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03d%s", (int)(ms % 1000), zone);
}

void sim_format_datetime(int64_t ms, char out[32])
{
    format_datetime(ms, "+0000", out);
}

void sim_format_datetime_z(int64_t ms, char out[32])
{
    format_datetime(ms, "Z", out);
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0, i;
    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool parse_zone(const char *s, int *off_s)
{
    int hh, mm;
    int sign;
    if (*s == 'Z' && s[1] == '\0') {
        *off_s = 0;
        return true;
    }
    if (*s != '+' && *s != '-')
        return false;
    sign = *s == '-' ? -1 : 1;
    s++;
    if (!digits(s, 2, &hh))
        return false;
    s += 2;
    if (*s == ':')
        s++;
    if (!digits(s, 2, &mm) || s[2] != '\0')
        return false;
    *off_s = sign * (hh * 3600 + mm * 60);
    return true;
}

bool sim_parse_datetime(const char *s, int64_t *ms_out)
{
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
    const char *p;

    memset(&tm, 0, sizeof(tm));
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d))
        return false;
    p = s + 10;
    if (*p == 'T') {
        if (!digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi) ||
            p[6] != ':' || !digits(p + 7, 2, &sec))
            return false;
        p += 9;
        if (*p == '.') {
            int n = 0;
            p++;
            while (isdigit((unsigned char)*p)) {
                if (n < 3)
                    frac = frac * 10 + (*p - '0');
                n++;
                p++;
            }
            while (n++ < 3)
                frac *= 10;
        }
        if (!parse_zone(p, &off))
            return false;
    } else if (*p != '\0') {
        return false;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *ms_out = ((int64_t)timegm(&tm) - off) * 1000 + frac;
    return true;
}

bool sim_parse_version(const char *seg, double *out)
{
    char *end = NULL;
    double v;
    if (seg[0] != 'v' || !isdigit((unsigned char)seg[1]))
        return false;
    v = strtod(seg + 1, &end);
    if (!end || (*end != '\0' && *end != '/'))
        return false;
    *out = v;
    return true;
}
