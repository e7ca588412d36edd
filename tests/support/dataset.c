/* dataset.c: loaders for the prepared data sets (see dataset.h). */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* fileno */
#endif
#include "dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the data files are little-endian"
#endif

const char *ds_data_dir(void) {
    const char *d = getenv("PRECIS_DATA_DIR");
    return d && *d ? d : "data";
}

int ds_path(char *buf, size_t cap, const char *name, const char *file) {
    int r = snprintf(buf, cap, "%s/%s/%s", ds_data_dir(), name, file);
    if (r < 0 || (size_t)r >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int ds_available(const char *name) {
    char p[4096];
    struct stat st;
    return ds_path(p, sizeof p, name, "info.json") == 0 && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* read a whole file whose size is a multiple of `row` bytes */
static int load_rows(const char *path, size_t row, void **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (row == 0) {
        errno = EINVAL;
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) goto fail;
    size_t size = (size_t)st.st_size;
    if (st.st_size < 0 || size % row != 0) {
        errno = EINVAL;
        goto fail;
    }
    void *p = malloc(size ? size : 1);
    if (!p) goto fail;
    if (fread(p, 1, size, f) != size) {
        if (!ferror(f)) errno = EIO;
        free(p);
        goto fail;
    }
    fclose(f);
    *out = p;
    *n = size / row;
    return 0;
fail:;
    int e = errno;
    fclose(f);
    errno = e;
    return -1;
}

int ds_load_f32(const char *path, size_t dim, float **out, size_t *n) {
    void *p;
    if (dim > SIZE_MAX / sizeof(float)) {
        errno = EINVAL;
        return -1;
    }
    int r = load_rows(path, dim * sizeof(float), &p, n);
    *out = p;
    return r;
}

int ds_load_i32(const char *path, size_t dim, int32_t **out, size_t *n) {
    void *p;
    if (dim > SIZE_MAX / sizeof(int32_t)) {
        errno = EINVAL;
        return -1;
    }
    int r = load_rows(path, dim * sizeof(int32_t), &p, n);
    *out = p;
    return r;
}

int ds_load_u64(const char *path, uint64_t **out, size_t *n) {
    void *p;
    int r = load_rows(path, sizeof(uint64_t), &p, n);
    *out = p;
    return r;
}

void ds_wn_meta_free(ds_wn_meta *m) {
    free(m->id);
    free(m->category);
    free(m->pos);
    memset(m, 0, sizeof *m);
}

int ds_load_wn_meta(const char *path, ds_wn_meta *m) {
    memset(m, 0, sizeof *m);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t cap = 0;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        unsigned long long id;
        unsigned cat;
        char pos;
        if (sscanf(line, "%llu\t%u\t%c", &id, &cat, &pos) != 3 || cat > 255) {
            errno = EINVAL;
            goto fail;
        }
        if (m->n == cap) {
            cap = cap ? 2 * cap : 1024;
            uint64_t *ids = realloc(m->id, cap * sizeof *ids);
            if (ids) m->id = ids;
            uint8_t *cats = realloc(m->category, cap);
            if (cats) m->category = cats;
            char *poss = realloc(m->pos, cap);
            if (poss) m->pos = poss;
            if (!ids || !cats || !poss) goto fail;
        }
        m->id[m->n] = (uint64_t)id;
        m->category[m->n] = (uint8_t)cat;
        m->pos[m->n] = pos;
        m->n++;
    }
    if (ferror(f)) {
        errno = EIO;
        goto fail;
    }
    fclose(f);
    return 0;
fail:;
    int e = errno;
    fclose(f);
    ds_wn_meta_free(m);
    errno = e;
    return -1;
}
