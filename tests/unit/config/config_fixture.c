#include <stdio.h>
#include <string.h>

#include "config_fixture.h"
#include "testutil.h"

const char *cfgfix_write(struct cfgfix *f, const char *text)
{
    FILE *fp;

    if (!f->dir[0] && tu_tmpdir(f->dir, sizeof(f->dir)) != 0)
        return NULL;
    snprintf(f->path, sizeof(f->path), "%s/test.conf", f->dir);
    fp = fopen(f->path, "w");
    if (!fp)
        return NULL;
    fputs(text, fp);
    fclose(fp);
    return f->path;
}

struct sfc_config *cfgfix_load(struct cfgfix *f, const char *text)
{
    f->err[0] = '\0';
    if (!cfgfix_write(f, text))
        return NULL;
    return sfc_config_load(f->path, f->err, sizeof(f->err));
}

void cfgfix_cleanup(struct cfgfix *f)
{
    if (f->dir[0])
        tu_rmtree(f->dir);
    f->dir[0] = '\0';
}
