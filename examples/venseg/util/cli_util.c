/* cli_util.c: small helpers shared by the venseg subcommands (see cli_util.h). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <venseg/venseg.h>

#include "util/cli_util.h"

double vs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

const char *vs_session_text(const char *describe, int verbose, char *buf, size_t size)
{
    static const char note[] = "; AUTO fell back to the CPU: ";
    const char *at = describe ? strstr(describe, note) : NULL;
    if (!size) return buf;
    if (!at || verbose) {
        snprintf(buf, size, "%s", describe ? describe : "");
        return buf;
    }
    const char *why = at + sizeof note - 1, *words;
    if (strstr(why, "no usable CUDA device") || strstr(why, "cudaErrorNoDevice") ||
        strstr(why, "cudaErrorInsufficientDriver"))
        words = "CPU (no GPU found)";
    else if (strstr(why, "is not installed"))
        words = "CPU (no GPU backend installed)";
    else
        words = "CPU (the GPU backend did not start; --verbose says why)";
    snprintf(buf, size, "%.*s; %s", (int)(at - describe), describe, words);
    return buf;
}

void vs_format_double(char *buf, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(buf, size, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, v > 0 ? "inf" : "-inf");
        return;
    }
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, size, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

void vs_csv_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int vs_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

int vs_parse_spacing(const char *s, double *x, double *y)
{
    char *end;
    *x = strtod(s, &end);
    if (end == s || !(*x > 0) || !isfinite(*x))
        return 0;
    if (*end == '\0') {
        *y = *x;
        return 1;
    }
    if (*end != ',')
        return 0;
    s = end + 1;
    *y = strtod(s, &end);
    return end != s && *end == '\0' && *y > 0 && isfinite(*y);
}

int vs_parse_roi(const char *s, int32_t roi[4])
{
    long v[4];
    char *end;
    for (int i = 0; i < 4; i++) {
        errno = 0;
        v[i] = strtol(s, &end, 10);
        if (errno || end == s || v[i] < 0 || v[i] > INT32_MAX || *end != (i < 3 ? ',' : '\0'))
            return 0;
        s = end + 1;
    }
    if (v[2] <= 0 || v[3] <= 0)
        return 0;
    for (int i = 0; i < 4; i++)
        roi[i] = (int32_t)v[i];
    return 1;
}

int vs_parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v) || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

int vs_parse_choice(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int vs_check_readable(const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

int vs_read_file(const char *path, size_t max_size, char **data, size_t *size, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    long n = -1;
    *data = NULL, *size = 0;
    if (!f) {
        snprintf(err, err_size, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(err, err_size, "cannot read: %s", strerror(errno));
        fclose(f);
        return -1;
    }
    if ((unsigned long)n > max_size) {
        snprintf(err, err_size, "larger than %zu MiB", max_size >> 20);
        fclose(f);
        return -1;
    }
    if (!(*data = malloc((size_t)n + 1))) {
        snprintf(err, err_size, "out of memory");
        fclose(f);
        return -1;
    }
    if (fread(*data, 1, (size_t)n, f) != (size_t)n) {
        snprintf(err, err_size, "read error");
        free(*data);
        *data = NULL;
        fclose(f);
        return -1;
    }
    fclose(f);
    (*data)[n] = '\0';
    *size = (size_t)n;
    return 0;
}

int vs_mkdirs(const char *path, char *err, size_t err_size) { return vs_mkdirs_made(path, NULL, err, err_size); }

int vs_mkdirs_made(const char *path, vs_strlist *made, char *err, size_t err_size)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        snprintf(err, err_size, "%s: path too long", path);
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0) {
            if (errno != EEXIST) {
                snprintf(err, err_size, "cannot make the folder %s: %s", buf, strerror(errno));
                return -1;
            }
        } else if (made && vs_strlist_add(made, buf) != 0) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }
        *p = c;
        if (c == '\0') break;
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(err, err_size, "%s is not a folder", path);
        return -1;
    }
    return 0;
}

void vs_undo_outputs(const char *const *files, int n_files, vs_strlist *made)
{
    for (int i = 0; i < n_files; i++)
        if (files[i] && files[i][0]) remove(files[i]);
    for (size_t i = made ? made->n : 0; i-- > 0;) rmdir(made->v[i]); /* deepest first; a non-empty one stays */
    if (made) vs_strlist_free(made);
}

#ifndef VENSEG_CLI_DATADIR
#define VENSEG_CLI_DATADIR "/usr/local/share/venseg"
#endif
#ifndef VENSEG_CLI_DATADIR_FROM_BIN
#define VENSEG_CLI_DATADIR_FROM_BIN "../share/venseg"
#endif

/* The folder of the running program into buf (Linux: /proc/self/exe). 0, or -1 when unknown. */
static int exe_dir(char *buf, size_t size)
{
#if defined(__linux__)
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n <= 0 || (size_t)n >= size - 1) return -1;
    buf[n] = '\0';
#else
    (void)size;
    buf[0] = '\0';
    return -1;
#endif
    char *slash = strrchr(buf, '/');
    if (!slash) return -1;
    *slash = '\0';
    return 0;
}

const char *vs_default_model(char *buf, size_t size)
{
    const char *env = getenv("VENSEG_MODEL");
    if (env && *env) return env;
    /* the working folder's weights/, then the copy installed beside the program (found from
     * the program's own folder, so a moved prefix still works), then the configured prefix */
    char beside[PATH_MAX + 64] = "", dir[PATH_MAX];
    if (exe_dir(dir, sizeof dir) == 0)
        snprintf(beside, sizeof beside, "%s/" VENSEG_CLI_DATADIR_FROM_BIN "/resunet34.vseg", dir);
    const char *candidates[] = {"weights/resunet34.vseg", beside, VENSEG_CLI_DATADIR "/resunet34.vseg"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        char real[PATH_MAX];
        if (!candidates[i][0] || access(candidates[i], R_OK) != 0) continue;
        /* "<prefix>/bin/../share/venseg/..." reads better as "<prefix>/share/venseg/..." */
        snprintf(buf, size, "%s", i == 1 && realpath(candidates[i], real) ? real : candidates[i]);
        return buf;
    }
    return NULL;
}

int vs_load_model(const char *path, venseg_model **model, char *err, size_t err_size)
{
    char buf[4096];
    *model = NULL;
    if (!path && !(path = vs_default_model(buf, sizeof buf))) {
        snprintf(err, err_size, "no model: give --model FILE or set VENSEG_MODEL (found neither "
                                "weights/resunet34.vseg in the working folder nor the installed copy, "
                                "<program folder>/" VENSEG_CLI_DATADIR_FROM_BIN "/resunet34.vseg)");
        return VS_EXIT_INPUT;
    }
    if (vs_check_readable(path, err, err_size) != 0) return VS_EXIT_INPUT;
    venseg_status st = venseg_model_load_file(path, model);
    if (st) {
        snprintf(err, err_size, "%s: not a usable model: %s: %s", path, venseg_status_name(st), venseg_last_error());
        return VS_EXIT_ERROR;
    }
    return VS_EXIT_OK;
}

int vs_cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int vs_natural_cmp(const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    while (*p && *q) {
        if (*p >= '0' && *p <= '9' && *q >= '0' && *q <= '9') {
            /* two runs of digits: by value (leading zeros skipped: fewer digits, smaller) */
            const unsigned char *p0 = p, *q0 = q;
            while (*p0 == '0') p0++;
            while (*q0 == '0') q0++;
            const unsigned char *pe = p0, *qe = q0;
            while (*pe >= '0' && *pe <= '9') pe++;
            while (*qe >= '0' && *qe <= '9') qe++;
            if (pe - p0 != qe - q0) return pe - p0 < qe - q0 ? -1 : 1;
            for (; p0 < pe; p0++, q0++)
                if (*p0 != *q0) return *p0 < *q0 ? -1 : 1;
            p = pe, q = qe;
            continue;
        }
        if (*p != *q) return *p < *q ? -1 : 1;
        p++, q++;
    }
    if (*p || *q) return *p ? 1 : -1;
    return strcmp(a, b); /* equal but for leading zeros ("f01", "f1"): a fixed order all the same */
}

static int cmp_natural(const void *a, const void *b)
{
    return vs_natural_cmp(*(char *const *)a, *(char *const *)b);
}

int vs_has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return n > e && strcasecmp(name + n - e, ext) == 0;
}

void vs_stem(const char *path, char *out, size_t size)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    size_t n = strlen(buf);
    while (n > 1 && (buf[n - 1] == '/' || buf[n - 1] == '\\')) buf[--n] = '\0'; /* "frames/" */
    const char *name = buf, *slash = strrchr(buf, '/'), *bs = strrchr(buf, '\\');
    if (bs && (!slash || bs > slash)) slash = bs;
    if (slash) name = slash + 1;
    snprintf(out, size, "%s", name);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = '\0';
}

int vs_strlist_add(vs_strlist *l, const char *s)
{
    char *copy;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v, l->cap = cap;
    }
    if (!(copy = strdup(s))) return -1;
    l->v[l->n++] = copy;
    return 0;
}

void vs_strlist_free(vs_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

void vs_strlist_sort(vs_strlist *l)
{
    if (l->n) qsort(l->v, l->n, sizeof *l->v, cmp_natural);
}

int vs_strlist_find(const vs_strlist *l, const char *s)
{
    char *const *hit = l->n ? bsearch(&s, l->v, l->n, sizeof *l->v, cmp_natural) : NULL;
    return hit ? (int)(hit - l->v) : -1;
}

int vs_list_dir(const char *dir, const char *const *ext, int n_ext, const char *except, vs_strlist *out,
                vs_strlist *other)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    struct stat sb;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) {
        int match = 0;
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        for (int k = 0; k < n_ext && !match; k++) match = vs_has_ext(e->d_name, ext[k]);
        if (match && except && vs_has_ext(e->d_name, except)) match = 0;
        vs_strlist *to = match ? out : other;
        if (to && vs_strlist_add(to, e->d_name) != 0) {
            closedir(d);
            errno = ENOMEM;
            return -1;
        }
    }
    closedir(d);
    vs_strlist_sort(out);
    if (other) vs_strlist_sort(other);
    return 0;
}

const char *const vs_image_exts[VS_IMAGE_EXT_COUNT] = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm"};

int vs_list_frames(const char *dir, vs_strlist *names, char *err, size_t err_size)
{
    if (vs_list_dir(dir, vs_image_exts, VS_IMAGE_EXT_COUNT, "_label.png", names, NULL) != 0) {
        snprintf(err, err_size, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (names->n == 0) {
        snprintf(err, err_size, "%s: no images (.png, .jpg, .jpeg, .bmp, .tif, .tiff, .dcm) in the folder", dir);
        return -1;
    }
    return 0;
}
