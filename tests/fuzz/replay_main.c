/* Runs a fuzz target's LLVMFuzzerTestOneInput on files, without libFuzzer: the seed
 * corpus and the saved crash inputs (tests/fuzz/regressions) become ordinary ctest
 * cases in every build, with GCC too, and under ASan/UBSan in the asan-ubsan preset.
 *   fuzz_<target>_replay FILE|DIR...   (exit 0 when every input ran; a finding aborts) */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf) return 1;
    uint8_t *exact = malloc(n ? n : 1); /* exact size, as libFuzzer passes it */
    if (!exact) return 1;
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    int inputs = 0, errors = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "no such file or directory: %s\n", argv[i]);
            errors++;
            continue;
        }
        if (!S_ISDIR(sb.st_mode)) {
            errors += run_file(argv[i]);
            inputs++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            errors++;
            continue;
        }
        char **names = NULL;
        size_t count = 0;
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.') continue;
            names = realloc(names, (count + 1) * sizeof *names);
            names[count] = malloc(strlen(argv[i]) + strlen(e->d_name) + 2);
            sprintf(names[count], "%s/%s", argv[i], e->d_name);
            count++;
        }
        closedir(d);
        if (count) qsort(names, count, sizeof *names, by_name); /* same order on every run */
        for (size_t k = 0; k < count; k++) {
            errors += run_file(names[k]);
            inputs++;
            free(names[k]);
        }
        free(names);
    }
    printf("%d inputs replayed, %d unreadable\n", inputs, errors);
    return errors ? 1 : 0;
}
