/* cli_util.h: exit statuses and small helpers shared by the venseg program's commands
 * and by benchmarks/ (target venseg_app_util). */
#ifndef VENSEG_APP_CLI_UTIL_H
#define VENSEG_APP_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses of every subcommand. */
enum {
    VS_EXIT_OK = 0,
    VS_EXIT_ERROR = 1,   /* an error: bad input, unreadable model, nothing evaluated */
    VS_EXIT_USAGE = 2,   /* bad command line */
    VS_EXIT_SKIPPED = 3, /* --strict: some files were skipped (eval), the clip is damaged or cut short (analyze) */
    VS_EXIT_INPUT = 4,   /* an input file or folder is missing or unreadable (segment, analyze, bench, demo) */
    VS_EXIT_UNAVAILABLE = 5 /* this build lacks what was asked (FFmpeg, giflib, cJSON) */
};

/* The exit-status table every --help prints. */
#define VS_EXIT_HELP                                                                         \
    "exit status: 0 success; 1 error (bad input data, a model that cannot run, a\n"          \
    "failed write); 2 bad command line; 3 --strict: eval skipped files, or analyze's\n"     \
    "clip is damaged or cut short; 4 an input file or folder is missing or unreadable;\n"   \
    "5 this build lacks a needed library (FFmpeg, giflib, cJSON).\n"                        \
    "A research tool, not a medical device.\n"

/* Helpers (cli_util.c). parse_*: 1 on success, 0 when the text is not valid. */
double vs_now_ms(void);
void vs_csv_field(FILE *f, const char *s);              /* a CSV field, quoted when needed */
int vs_parse_long(const char *s, long lo, long hi, long *out);
int vs_parse_double(const char *s, double lo, double hi, double *out);
int vs_parse_spacing(const char *s, double *x, double *y); /* "MM" or "MMX,MMY", > 0 */
int vs_parse_roi(const char *s, int32_t roi[4]);        /* "X,Y,W,H" */
/* The index of s among the n names, or -1. */
int vs_parse_choice(const char *s, const char *const *names, int n);
int vs_cmp_str(const void *a, const void *b);           /* qsort of char * by strcmp */
/* Natural (numeric-aware) order: runs of digits compare by value, so "slice_253" comes
 * before "slice_1115"; other bytes as strcmp; names equal but for leading zeros by strcmp.
 * <0, 0, >0 like strcmp. */
int vs_natural_cmp(const char *a, const char *b);
int vs_has_ext(const char *name, const char *ext);       /* name ends with ext (any case) */
void vs_stem(const char *path, char *out, size_t size);  /* "a/b/c.png" -> "c"; "a/frames/" -> "frames" */
/* A growing list of strings, each a malloc'ed copy. {0} is an empty list. */
typedef struct vs_strlist {
    char **v;
    size_t n, cap;
} vs_strlist;
int vs_strlist_add(vs_strlist *l, const char *s); /* 0, or -1 when out of memory */
void vs_strlist_free(vs_strlist *l);
void vs_strlist_sort(vs_strlist *l);                     /* natural order (vs_natural_cmp) */
int vs_strlist_find(const vs_strlist *l, const char *s); /* in a sorted list: the index, or -1 */
/* The regular files of dir (not hidden) whose names end in one of the n_ext endings (any
 * case) but not in `except` (nullable), in natural order (frame_9 before frame_10), added to
 * *out; the other regular files to *other (nullable). 0, or -1 with errno set. */
int vs_list_dir(const char *dir, const char *const *ext, int n_ext, const char *except, vs_strlist *out,
                vs_strlist *other);
/* The endings of the image files the program reads as frames (any case): ".png", ".jpg",
 * ".jpeg", ".bmp", ".tif", ".tiff" (image_io.h decodes them). */
extern const char *const vs_image_exts[];
enum { VS_IMAGE_EXT_COUNT = 7 }; /* ".dcm": DICOM frames (dicom_io.h) */
/* The images of a folder (vs_image_exts; not *_label.png), in natural order of their names, into *names. 0, or -1 with a
 * message (no folder, no images). */
int vs_list_frames(const char *dir, vs_strlist *names, char *err, size_t err_size);
/* 0 if path can be opened for reading, else -1 with "PATH: reason" in err. */
int vs_check_readable(const char *path, char *err, size_t err_size);
/* Reads the whole file (at most max_size bytes) into *data (malloc'ed, NUL-terminated, *size
 * bytes before the NUL). 0, or -1 with "cannot open: reason", "larger than N MiB", ... */
int vs_read_file(const char *path, size_t max_size, char **data, size_t *size, char *err, size_t err_size);
/* Makes a folder and its parents (like mkdir -p). 0 or -1 with a message. */
int vs_mkdirs(const char *path, char *err, size_t err_size);
/* vs_mkdirs that adds each folder it made to *made (nullable; parents first), so that a failed
 * run can take them away again (vs_undo_outputs). */
int vs_mkdirs_made(const char *path, vs_strlist *made, char *err, size_t err_size);
/* After a failed run: removes the n_files files (NULL and "" skipped), then the folders of
 * *made (nullable) deepest first, each only when empty; frees *made. */
void vs_undo_outputs(const char *const *files, int n_files, vs_strlist *made);
/* The model: $VENSEG_MODEL, else weights/resunet34.vseg under the working folder, else the
 * copy installed beside the program (<program folder>/../share/venseg/resunet34.vseg, found
 * from the running program's own path, so a moved prefix works), else the configured
 * prefix's. NULL when none is found. */
const char *vs_default_model(char *buf, size_t size);
/* Loads the model (path NULL: vs_default_model). Returns VS_EXIT_OK, VS_EXIT_INPUT
 * (missing, unreadable) or VS_EXIT_ERROR (not a model), with a message in err. */
struct venseg_model;
int vs_load_model(const char *path, struct venseg_model **model, char *err, size_t err_size);

/* "%.15g", else "%.16g", else "%.17g": the shortest of them that reads back as v;
 * "nan", "inf", "-inf" for those. Python's evaluate.py formats alike. */
void vs_format_double(char *buf, size_t size, double v);

/* What a session runs, for people: the library's venseg_session_describe() text with its
 * "; AUTO fell back to the CPU: <reason>" (libraries built with CUDA) cut to a few words, since
 * on a machine without a GPU AUTO taking the CPU is the normal case:
 *   "; CPU (no GPU found)"               no CUDA device or no NVIDIA driver;
 *   "; CPU (no GPU backend installed)"   the CUDA module is not installed;
 *   "; CPU (the GPU backend did not start; --verbose says why)"   anything else.
 * verbose: the library's text unchanged (the reason in full). Returns buf. */
const char *vs_session_text(const char *describe, int verbose, char *buf, size_t size);

#endif
