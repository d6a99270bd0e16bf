/*
 * eval_cmd.c: `venseg eval`: segment a folder of images and score them against labels.
 * See eval_help below (`venseg eval --help`) for what it does.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <venseg/venseg.h>

#include "commands.h"
#include "util/cli_util.h"
#include "util/options.h"
#include "util/labelmap.h"
#include "util/labelme.h"
#include "util/image_io.h"
#include "util/png_io.h"

static const char eval_help[] =
    "usage: venseg eval MODEL --images DIR --labels DIR [options]\n"
    "\n"
    "Segments every image of --images with MODEL (a .vseg file) and scores the\n"
    "prediction against its label: Dice, Jaccard, SSIM and HD95 per image and class,\n"
    "then mean +- sd per class. The summary table is printed to stdout.\n"
    "\n"
    "Inputs\n"
    "  MODEL, --model FILE   the .vseg model\n"
    "  --images DIR          the images: .png (8/16-bit grey, RGB, RGBA, palette), .jpg,\n"
    "                        .jpeg, .bmp, .tif, .tiff (JPEG, BMP, TIFF through FFmpeg)\n"
    "  --labels DIR          for image <stem>.png (.jpg, ...) the label is the first of\n"
    "                        <stem>.png, <stem>_label.png, <stem>.json (LabelMe) in DIR,\n"
    "                        else a LabelMe JSON in DIR whose imagePath has that stem.\n"
    "                        Label PNGs hold values (grey value or palette index, not\n"
    "                        colours). DIR may be the image folder (files <stem>_label.png\n"
    "                        are then labels, not images). Unmatched files are reported.\n"
    "  --label-map MAP       which label values mean which class (default artery=1,vein=2):\n"
    "                        comma-separated CLASS=TOKEN[|TOKEN...], CLASS one of artery,\n"
    "                        vein, vessel (vessel of unknown class), ignore, background;\n"
    "                        a TOKEN is a label value 0..255 (PNG) or a LabelMe shape label\n"
    "                        (a shape label also matches a class by its name, any case).\n"
    "                        Values not in the map are background. A class not in the map\n"
    "                        is not supervised by the dataset and is not scored.\n"
    "                        usgra-seg: artery=1,vein=2,vessel=3,ignore=4; cca-momot: artery=255\n"
    "\n"
    "Scoring\n"
    "  --mode classes|vessel classes (default): artery and vein separately; truth pixels of\n"
    "                        'vessel' and 'ignore' are left out of both (a predicted artery\n"
    "                        or vein there is not a false positive). A class the map does\n"
    "                        not supervise is not scored (artery-only labels: the predicted\n"
    "                        vein counts for nothing). vessel: predicted artery|vein vs true\n"
    "                        artery|vein|vessel, 'ignore' left out; needs a map with vessel,\n"
    "                        or with both artery and vein.\n"
    "  --empty nan|monai|smooth  Dice/Jaccard when the truth is empty (default nan):\n"
    "                        nan: NaN, left out of the means (MONAI ignore_empty=True);\n"
    "                        monai: 1 if the prediction is empty too, else 0;\n"
    "                        smooth: (2tp+s)/(2tp+fp+fn+s), s = 1e-5 (segmentation_models).\n"
    "  --ssim gaussian|uniform  SSIM between the predicted and the true binary mask of the\n"
    "                        class (0/1 floats, data_range 1; left-out pixels 0 in both):\n"
    "                        gaussian (default): Wang et al. 2004, sigma 1.5, 11x11, no\n"
    "                        sample covariance; uniform: scikit-image's default, 7x7 mean\n"
    "                        filter with sample covariance. Frames under 11 (7) px: NaN.\n"
    "  --spacing MM[,MMY]    pixel size in mm (x, y): adds HD95 in mm\n"
    "  --roi X,Y,W,H         segment and score only this rectangle of every frame\n"
    "  HD95: 95th percentile Hausdorff distance between the class boundaries (MONAI);\n"
    "  NaN when both masks are empty, inf when one is. ASD: average symmetric surface\n"
    "  distance. NaN and inf are left out of mean +- sd and counted.\n"
    "\n"
    "Outputs\n"
    "  --csv FILE            one row per image and scored class: file, class, dice,\n"
    "                        jaccard, ssim, hd95_px, hd95_mm, asd_px, area_pred_px,\n"
    "                        area_truth_px, tp, fp, fn, ms (segmentation time per frame)\n"
    "  --summary FILE        the summary table (Markdown) also to FILE\n"
    "  --save-pred DIR       also write each predicted label mask to DIR/<stem>.png\n"
    "                        (model label values: 1 artery, 2 vein; DIR is made if missing)\n"
    "  Plots: python -m venseg.toolkit.evaluate --plot-only FILE.csv --plots DIR\n"
    "\n"
    "Run\n"
    "  --threads N           threads for the network (default 0: OpenMP's default)\n"
    "  --precision P         auto (default), fp32, bf16, int8 or fp16 (docs/precision.md);\n"
    "                        the result line says what ran\n"
    "  --limit N             only the first N matched images (in natural order of names)\n"
    "  --strict              exit with status 3 if any file was skipped\n"
    "  -q, --quiet           no progress lines on stderr\n"
    "  --verbose             the session line as the library describes it, in full (why\n"
    "                        AUTO did not take a GPU; otherwise \"CPU (no GPU found)\" ...)\n"
    "  -h, --help            this help\n"
    "\n"
    "A file that cannot be read or does not fit (size mismatch, bad JSON, colour label)\n"
    "is skipped with a warning and counted. Exit status: 0 ok, 1 error (or nothing\n"
    "evaluated), 2 bad command line, 3 files skipped with --strict, 4 the model or the\n"
    "--images or --labels folder missing or unreadable.\n";

/* ------------------------------------------------------------------ helpers */

/* snprintf for paths and names: a result that does not fit is cut (and reported by
 * the caller's failing open). */
static void path_fmt(char *out, size_t size, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    if (vsnprintf(out, size, format, ap) < 0 && size)
        out[0] = '\0';
    va_end(ap);
}

typedef struct {
    const char *name;   /* "artery", "vein", "vessel" */
    uint32_t pred_bits; /* model label values */
    uint32_t truth_bits; /* canonical truth codes */
    uint32_t ignore_bits;
} score_class;

typedef struct {
    char *file;
    int cls;
    double dice, jaccard, ssim, hd95_px, hd95_mm, asd_px, ms;
    int64_t area_pred, area_truth, tp, fp, fn;
} row;

typedef struct {
    const char *model_path, *images, *labels, *label_map, *csv, *summary, *save_pred;
    int vessel_mode, quiet, strict, threads, has_roi, verbose, precision;
    venseg_empty_rule empty;
    venseg_ssim_window ssim;
    double spacing_x, spacing_y;
    long limit;
    int32_t roi[4];
} eval_opts;

/* ------------------------------------------------------------------ scoring */

typedef struct {
    uint8_t *p, *t;  /* binary masks, ROI size */
    float *pf, *tf;
    size_t cap;
} buffers;

static int buffers_reserve(buffers *b, size_t n)
{
    if (n <= b->cap)
        return 0;
    free(b->p), free(b->t), free(b->pf), free(b->tf);
    b->p = malloc(n), b->t = malloc(n);
    b->pf = malloc(n * sizeof(float)), b->tf = malloc(n * sizeof(float));
    b->cap = (b->p && b->t && b->pf && b->tf) ? n : 0;
    return b->cap ? 0 : -1;
}

/* Scores one class on the w x h region pred/truth (strides in bytes). */
static int score(const score_class *c, const eval_opts *o, const uint8_t *pred, int64_t ps, const uint8_t *truth,
                 int64_t ts, int32_t w, int32_t h, buffers *b, row *r, char *err, size_t err_size)
{
    int64_t counts[3];
    double smooth = o->empty == VENSEG_EMPTY_SMOOTH ? 1e-5 : 0.0, sym = NAN;
    venseg_status st;
    size_t n = (size_t)w * (size_t)h;

    if (buffers_reserve(b, n) != 0) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    /* Binary masks of the class: left-out (ignored) pixels are 0 in both. */
    for (int32_t y = 0; y < h; y++) {
        for (int32_t x = 0; x < w; x++) {
            uint8_t tv = truth[y * ts + x], pv = pred[y * ps + x];
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            int ignored = tv < 32 && ((c->ignore_bits >> tv) & 1u);
            b->t[i] = tv < 32 && ((c->truth_bits >> tv) & 1u);
            b->p[i] = !ignored && pv < 32 && ((c->pred_bits >> pv) & 1u);
            b->pf[i] = b->p[i];
            b->tf[i] = b->t[i];
        }
    }
    if ((st = venseg_overlap_counts(b->p, w, 2u, b->t, w, 2u, 0u, w, h, counts)) != VENSEG_OK ||
        (st = venseg_dice(counts, o->empty, smooth, &r->dice)) != VENSEG_OK ||
        (st = venseg_jaccard(counts, o->empty, smooth, &r->jaccard)) != VENSEG_OK)
        goto fail;
    r->tp = counts[0], r->fp = counts[1], r->fn = counts[2];
    r->area_pred = counts[0] + counts[1];
    r->area_truth = counts[0] + counts[2];
    r->ssim = NAN;
    if (w >= (o->ssim == VENSEG_SSIM_GAUSSIAN ? 11 : 7) && h >= (o->ssim == VENSEG_SSIM_GAUSSIAN ? 11 : 7)) {
        st = venseg_ssim(b->pf, w, b->tf, w, w, h, o->ssim, 0, o->ssim == VENSEG_SSIM_UNIFORM, 1.0, &r->ssim, NULL,
                         0);
        if (st != VENSEG_OK)
            goto fail;
    }
    st = venseg_surface_distance(b->p, w, 2u, b->t, w, 2u, w, h, 1.0, 1.0, 95.0, &r->hd95_px, NULL, &sym);
    if (st != VENSEG_OK)
        goto fail;
    r->asd_px = sym;
    r->hd95_mm = NAN;
    if (o->spacing_x > 0) {
        st = venseg_surface_distance(b->p, w, 2u, b->t, w, 2u, w, h, o->spacing_x, o->spacing_y, 95.0, &r->hd95_mm,
                                     NULL, NULL);
        if (st != VENSEG_OK)
            goto fail;
    }
    return 0;
fail:
    snprintf(err, err_size, "%s: %s", venseg_status_name(st), venseg_last_error());
    return -1;
}

/* ------------------------------------------------------------------ summary */

typedef struct {
    int n, excluded;
    double mean, sd;
} stat_t;

/* The metric at offset (a double of row) when r is of class cls: 1, else 0. */
static int metric_of(const row *r, int cls, size_t offset, double *v)
{
    if (r->cls != cls)
        return 0;
    memcpy(v, (const char *)r + offset, sizeof *v);
    return 1;
}

/* Two passes (mean, then squared deviations) as the Python twin computes them. */
static stat_t stats_of(const row *rows, size_t n_rows, int cls, size_t offset)
{
    stat_t s = {0, 0, NAN, NAN};
    double sum = 0, ss = 0, v;
    for (size_t i = 0; i < n_rows; i++) {
        if (!metric_of(&rows[i], cls, offset, &v))
            continue;
        if (isfinite(v))
            sum += v, s.n++;
        else
            s.excluded++;
    }
    if (s.n == 0)
        return s;
    s.mean = sum / s.n;
    for (size_t i = 0; i < n_rows; i++)
        if (metric_of(&rows[i], cls, offset, &v) && isfinite(v))
            ss += (v - s.mean) * (v - s.mean);
    if (s.n > 1)
        s.sd = sqrt(ss / (s.n - 1));
    return s;
}

static void stat_cell(char *buf, size_t size, stat_t s)
{
    char ex[32] = "";
    if (s.excluded)
        snprintf(ex, sizeof ex, " (%d excl.)", s.excluded);
    if (s.n == 0)
        snprintf(buf, size, "n/a%s", ex);
    else if (s.n == 1)
        snprintf(buf, size, "%.4f%s", s.mean, ex);
    else
        snprintf(buf, size, "%.4f ± %.4f%s", s.mean, s.sd, ex);
}

static void write_summary(FILE *f, const row *rows, size_t n_rows, const score_class *classes, int n_classes,
                          const char *const *unsupervised, int n_unsup, int with_mm)
{
    fprintf(f, "| class | images | Dice | Jaccard | SSIM | HD95 (px) |%s\n", with_mm ? " HD95 (mm) |" : "");
    fprintf(f, "|---|---:|---|---|---|---|%s\n", with_mm ? "---|" : "");
    for (int c = 0; c < n_classes; c++) {
        size_t offs[5] = {offsetof(row, dice), offsetof(row, jaccard), offsetof(row, ssim), offsetof(row, hd95_px),
                          offsetof(row, hd95_mm)};
        int n = 0;
        for (size_t i = 0; i < n_rows; i++)
            n += rows[i].cls == c;
        fprintf(f, "| %s | %d |", classes[c].name, n);
        for (int m = 0; m < (with_mm ? 5 : 4); m++) {
            char cell[96];
            stat_cell(cell, sizeof cell, stats_of(rows, n_rows, c, offs[m]));
            fprintf(f, " %s |", cell);
        }
        fputc('\n', f);
    }
    for (int u = 0; u < n_unsup; u++)
        fprintf(f, "| %s | not supervised | | | | |%s\n", unsupervised[u], with_mm ? " |" : "");
}

/* ------------------------------------------------------------------ main */

static const char summary_note[] =
    "mean ± sd (sample sd) over the finite values; NaN (empty truth, or both empty) and inf (one side empty) "
    "are left out and counted as excl.";

typedef struct {
    int evaluated, skipped, no_label, labels_unused, ignored_files;
} counters;

static void warn(const eval_opts *o, const char *fmt, const char *a, const char *b)
{
    (void)o;
    fprintf(stderr, "venseg eval: warning: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
}

static int usage_error(const char *msg, const char *arg)
{
    char with_colon[256];
    snprintf(with_colon, sizeof with_colon, "%s%s", msg, arg ? ": " : "");
    return vs_usage_error("eval", with_colon, arg);
}

static const char *const mode_names[] = {"classes", "vessel"};
static const char *const empty_names[] = {"nan", "monai", "smooth"};
static const venseg_empty_rule empty_rules[] = {VENSEG_EMPTY_NAN, VENSEG_EMPTY_MONAI, VENSEG_EMPTY_SMOOTH};
static const char *const ssim_names[] = {"gaussian", "uniform"};
static const venseg_ssim_window ssim_windows[] = {VENSEG_SSIM_GAUSSIAN, VENSEG_SSIM_UNIFORM};

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int vs_cmd_eval(int argc, char **argv)
{
    eval_opts o;
    vs_common_opts common;
    int status;
    vs_labelmap map;
    score_class classes[2];
    const char *unsup[2];
    int n_classes = 0, n_unsup = 0, rc = VS_EXIT_ERROR, artery_label = 1, vein_label = 2;
    char err[512], path[PATH_MAX], lpath[PATH_MAX];
    venseg_model *model = NULL;
    venseg_session *session = NULL;
    vs_strlist images = {0}, other = {0}, label_files = {0}, json_stems = {0}, json_names = {0};
    vs_strlist image_stems = {0}; /* the images' stems, sorted: which stems have an image */
    int *label_used = NULL;
    row *rows = NULL;
    size_t n_rows = 0, cap_rows = 0;
    buffers buf = {0};
    counters cnt = {0};
    FILE *csv = NULL;
    double total_ms = 0, t_start = vs_now_ms();

    memset(&o, 0, sizeof o);
    memset(&map, 0, sizeof map);
    o.label_map = "artery=1,vein=2";
    o.empty = VENSEG_EMPTY_NAN;
    o.ssim = VENSEG_SSIM_GAUSSIAN;
    o.limit = -1;

    vs_common_opts_init(&common, NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        long lv;
        int shared = vs_common_option("eval", eval_help,
                                      VS_OPT_MODEL | VS_OPT_SPACING | VS_OPT_ROI | VS_OPT_THREADS | VS_OPT_QUIET |
                                          VS_OPT_VERBOSE | VS_OPT_PRECISION,
                                      argc, argv, &i, &common, &status), choice;
        if (shared < 0)
            return status;
        if (shared)
            continue;
        if (strcmp(a, "--strict") == 0) {
            o.strict = 1;
            continue;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (common.model_path)
                return usage_error("more than one model given", a);
            common.model_path = a;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
            return usage_error("unknown option", a);
        if ((v = vs_option_value(argc, argv, &i)) == NULL)
            return usage_error("missing value for", a);
        if (vs_is_option(a, "--images"))
            o.images = v;
        else if (vs_is_option(a, "--labels"))
            o.labels = v;
        else if (vs_is_option(a, "--label-map"))
            o.label_map = v;
        else if (vs_is_option(a, "--csv"))
            o.csv = v;
        else if (vs_is_option(a, "--summary"))
            o.summary = v;
        else if (vs_is_option(a, "--save-pred"))
            o.save_pred = v;
        else if (vs_is_option(a, "--mode")) {
            if ((o.vessel_mode = vs_parse_choice(v, mode_names, 2)) < 0)
                return usage_error("--mode must be classes or vessel, not", v);
        } else if (vs_is_option(a, "--empty")) {
            if ((choice = vs_parse_choice(v, empty_names, 3)) < 0)
                return usage_error("--empty must be nan, monai or smooth, not", v);
            o.empty = empty_rules[choice];
        } else if (vs_is_option(a, "--ssim")) {
            if ((choice = vs_parse_choice(v, ssim_names, 2)) < 0)
                return usage_error("--ssim must be gaussian or uniform, not", v);
            o.ssim = ssim_windows[choice];
        } else if (vs_is_option(a, "--limit")) {
            if (!vs_parse_long(v, 1, LONG_MAX, &lv))
                return usage_error("--limit must be a positive number, not", v);
            o.limit = lv;
        } else
            return usage_error("unknown option", a);
    }
    o.model_path = common.model_path;
    o.quiet = common.quiet;
    o.verbose = common.verbose;
    o.threads = common.threads;
    o.precision = common.precision;
    o.spacing_x = common.spacing_x, o.spacing_y = common.spacing_y;
    o.has_roi = common.has_roi;
    memcpy(o.roi, common.roi, sizeof o.roi);
    if (!o.model_path)
        return usage_error("no model given", NULL);
    if (!o.images || !o.labels)
        return usage_error("--images and --labels are required", NULL);

    /* What is scored. */
    if (vs_labelmap_parse(o.label_map, &map, err, sizeof err) != 0)
        return usage_error("bad --label-map", err);
    if (!o.vessel_mode) {
        for (int c = VS_ARTERY; c <= VS_VEIN; c++) {
            if (map.supervised[c])
                classes[n_classes++] = (score_class){vs_code_names[c], 0, 1u << c,
                                                      (1u << VS_VESSEL) | (1u << VS_IGNORE)};
            else
                unsup[n_unsup++] = vs_code_names[c];
        }
        if (n_classes == 0) {
            vs_labelmap_free(&map);
            return usage_error("the label map supervises neither artery nor vein: nothing to score in classes "
                               "mode (vessel-only labels: --mode vessel)",
                               o.label_map);
        }
    } else {
        if (!map.supervised[VS_VESSEL] && !(map.supervised[VS_ARTERY] && map.supervised[VS_VEIN])) {
            vs_labelmap_free(&map);
            return usage_error("--mode vessel needs labels of all vessels: a label map with vessel=..., or with "
                               "both artery and vein",
                               o.label_map);
        }
        classes[n_classes++] = (score_class){"vessel", 0,
                                             (1u << VS_ARTERY) | (1u << VS_VEIN) | (1u << VS_VESSEL),
                                             1u << VS_IGNORE};
    }

    /* Model and session. */
    {
        venseg_status st;
        int32_t nc = 0;
        int found_a = 0, found_v = 0;
        if (vs_check_readable(o.model_path, err, sizeof err) != 0) {
            fprintf(stderr, "venseg eval: %s\n", err);
            rc = VS_EXIT_INPUT; /* a missing input is 4, as in every command */
            goto done;
        }
        if ((st = venseg_model_load_file(o.model_path, &model)) != VENSEG_OK) {
            fprintf(stderr, "venseg eval: %s: %s: %s\n", o.model_path, venseg_status_name(st), venseg_last_error());
            goto done;
        }
        venseg_model_class_count(model, &nc);
        for (int32_t c = 0; c < nc; c++) {
            const char *name = "";
            venseg_model_class_name_at(model, c, &name);
            if (strcasecmp(name, "artery") == 0)
                artery_label = c + 1, found_a = 1;
            else if (strcasecmp(name, "vein") == 0)
                vein_label = c + 1, found_v = 1;
        }
        if ((!found_a || !found_v) && !o.quiet)
            fprintf(stderr, "venseg eval: warning: the model's classes are not named artery and vein: taking "
                            "label 1 as artery and 2 as vein\n");
        if (nc < 2) {
            fprintf(stderr, "venseg eval: %s: the model has %d class(es); artery and vein need 2\n", o.model_path,
                    (int)nc);
            goto done;
        }
        for (int c = 0; c < n_classes; c++) {
            if (strcmp(classes[c].name, "artery") == 0)
                classes[c].pred_bits = 1u << artery_label;
            else if (strcmp(classes[c].name, "vein") == 0)
                classes[c].pred_bits = 1u << vein_label;
            else
                classes[c].pred_bits = (1u << artery_label) | (1u << vein_label);
        }
        if ((st = vs_open_session(model, o.threads, o.precision, &session, err, sizeof err)) != VENSEG_OK) {
            fprintf(stderr, "venseg eval: session: %s\n", err);
            goto done;
        }
        if (o.spacing_x > 0)
            venseg_session_set_pixel_spacing(session, o.spacing_x, o.spacing_y);
        if (!o.quiet) {
            int64_t trained = 1;
            char session_text[1024];
            fprintf(stderr, "venseg eval: %s: %s\n", o.model_path,
                    vs_session_text(venseg_session_describe(session), o.verbose, session_text, sizeof session_text));
            if (venseg_model_meta_int(model, "provenance.trained", &trained) == VENSEG_OK && !trained)
                fprintf(stderr, "venseg eval: warning: %s is an untrained model: its scores are meaningless\n",
                        o.model_path);
        }
    }

    /* Files. */
    static const char *const label_ext[] = {".png", ".json"};
    if (vs_list_dir(o.images, vs_image_exts, VS_IMAGE_EXT_COUNT, NULL, &images, &other) != 0) {
        rc = errno == ENOMEM ? VS_EXIT_ERROR : VS_EXIT_INPUT; /* missing or unreadable: 4 */
        fprintf(stderr, "venseg eval: --images %s: %s\n", o.images, strerror(errno));
        goto done;
    }
    if (vs_list_dir(o.labels, label_ext, 2, NULL, &label_files, NULL) != 0) {
        rc = errno == ENOMEM ? VS_EXIT_ERROR : VS_EXIT_INPUT;
        fprintf(stderr, "venseg eval: --labels %s: %s\n", o.labels, strerror(errno));
        goto done;
    }
    if ((label_used = calloc(label_files.n + 1, sizeof *label_used)) == NULL)
        goto oom;
    cnt.ignored_files = (int)other.n;
    if (other.n && !o.quiet)
        fprintf(stderr,
                "venseg eval: warning: %s: %zu file(s) that are not images (.png, .jpg, .jpeg, .bmp, .tif, .tiff) "
                "ignored, e.g. %s\n",
                o.images, other.n, other.v[0]);
    for (size_t i = 0; i < images.n; i++) {
        char stem[PATH_MAX];
        vs_stem(images.v[i], stem, sizeof stem);
        if (vs_strlist_add(&image_stems, stem) != 0)
            goto oom;
    }
    vs_strlist_sort(&image_stems);
    /* Images named <stem>_label.png next to an image <stem>.png (.jpg, ...) are labels. */
    {
        size_t k = 0;
        char *drop = calloc(images.n + 1, 1);
        if (drop == NULL)
            goto oom;
        for (size_t i = 0; i < images.n; i++) {
            char stem[PATH_MAX], base[PATH_MAX];
            size_t sl;
            vs_stem(images.v[i], stem, sizeof stem);
            sl = strlen(stem);
            if (sl > 6 && strcmp(stem + sl - 6, "_label") == 0 && vs_has_ext(images.v[i], ".png")) {
                path_fmt(base, sizeof base, "%.*s", (int)(sl - 6), stem);
                drop[i] = vs_strlist_find(&image_stems, base) >= 0;
            }
        }
        for (size_t i = 0; i < images.n; i++) {
            if (drop[i])
                free(images.v[i]);
            else
                images.v[k++] = images.v[i];
        }
        images.n = k;
        free(drop);
    }
    /* JSON labels whose stem is not an image's: match by their imagePath. */
    for (size_t j = 0; j < label_files.n; j++) {
        char stem[PATH_MAX], ip[PATH_MAX], ipstem[PATH_MAX];
        if (!vs_has_ext(label_files.v[j], ".json"))
            continue;
        vs_stem(label_files.v[j], stem, sizeof stem);
        if (vs_strlist_find(&image_stems, stem) >= 0)
            continue;
        path_fmt(path, sizeof path, "%s/%s", o.labels, label_files.v[j]);
        if (vs_labelme_image_path(path, ip, sizeof ip, err, sizeof err) != 0 || ip[0] == '\0')
            continue;
        vs_stem(ip, ipstem, sizeof ipstem);
        if (vs_strlist_add(&json_stems, ipstem) != 0 || vs_strlist_add(&json_names, label_files.v[j]) != 0)
            goto oom;
    }

    if (o.save_pred && mkdir(o.save_pred, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "venseg eval: --save-pred %s: %s\n", o.save_pred, strerror(errno));
        goto done;
    }
    if (o.csv) {
        if ((csv = fopen(o.csv, "w")) == NULL) {
            fprintf(stderr, "venseg eval: --csv %s: %s\n", o.csv, strerror(errno));
            goto done;
        }
        fputs("file,class,dice,jaccard,ssim,hd95_px,hd95_mm,asd_px,area_pred_px,area_truth_px,tp,fp,fn,ms\n", csv);
    }

    {
        const char *no_label_first = NULL;
        long matched = 0;
        for (size_t i = 0; i < images.n; i++) {
            char stem[PATH_MAX], lname[PATH_MAX];
            int li = -1, is_json = 0;
            vs_png img = {0}, lab = {0};
            uint8_t *codes = NULL, *pred = NULL;
            int32_t lw = 0, lh = 0, rx = 0, ry = 0, rw, rh;
            venseg_pixel_format fmt;
            int64_t img_stride;
            double t0, ms;
            venseg_status st;

            vs_stem(images.v[i], stem, sizeof stem);
            path_fmt(path, sizeof path, "%s/%s", o.images, images.v[i]);
            {
                const char *cands[3] = {"%s.png", "%s_label.png", "%s.json"};
                for (int c = 0; c < 3 && li < 0; c++) {
                    path_fmt(lname, sizeof lname, cands[c], stem);
                    li = vs_strlist_find(&label_files, lname);
                    if (li >= 0 && c == 0) {
                        path_fmt(lpath, sizeof lpath, "%s/%s", o.labels, lname);
                        if (same_file(lpath, path))
                            li = -1;
                    }
                    is_json = c == 2;
                }
                if (li < 0) {
                    for (size_t j = 0; j < json_stems.n; j++) {
                        if (strcmp(json_stems.v[j], stem) == 0) {
                            li = vs_strlist_find(&label_files, json_names.v[j]);
                            path_fmt(lname, sizeof lname, "%s", json_names.v[j]);
                            is_json = 1;
                            break;
                        }
                    }
                }
            }
            if (li < 0) {
                if (cnt.no_label++ == 0)
                    no_label_first = images.v[i];
                continue;
            }
            label_used[li] = 1;
            if (o.limit > 0 && matched >= o.limit)
                continue;
            matched++;
            path_fmt(lpath, sizeof lpath, "%s/%s", o.labels, lname);

            if (vs_image_read(path, &img, err, sizeof err) != 0) {
                warn(&o, "%s: %s (skipped)", path, err);
                cnt.skipped++;
                continue;
            }
            if (is_json) {
                vs_labelme_stats ls;
                if (vs_labelme_read(lpath, &map, img.width, img.height, &codes, &lw, &lh, NULL, NULL, &ls, err,
                                    sizeof err) != 0) {
                    warn(&o, "%s: %s (skipped)", lpath, err);
                    cnt.skipped++;
                    vs_png_free(&img);
                    continue;
                }
                if (ls.unknown_label && !o.quiet)
                    warn(&o, "%s: shape label '%s' (and maybe others) not in the label map: not drawn", lpath,
                         ls.first_unknown);
                if (ls.unsupported && !o.quiet)
                    warn(&o, "%s: shape type '%s' (and maybe others) not supported: not drawn", lpath,
                         ls.first_unsupported);
            } else {
                if (vs_png_read_label(lpath, &lab, err, sizeof err) != 0) {
                    warn(&o, "%s: %s (skipped)", lpath, err);
                    cnt.skipped++;
                    vs_png_free(&img);
                    continue;
                }
                if (lab.width != img.width || lab.height != img.height) {
                    char sz[96];
                    snprintf(sz, sizeof sz, "label %dx%d, image %dx%d", (int)lab.width, (int)lab.height,
                             (int)img.width, (int)img.height);
                    warn(&o, "%s: size mismatch, %s (skipped)", lpath, sz);
                    cnt.skipped++;
                    vs_png_free(&img), vs_png_free(&lab);
                    continue;
                }
                codes = lab.data;
                lab.data = NULL;
                for (size_t k = 0; k < (size_t)img.width * (size_t)img.height; k++)
                    codes[k] = map.lut[codes[k]];
            }

            /* Region scored. */
            rw = img.width, rh = img.height;
            if (o.has_roi) {
                int64_t x1 = (int64_t)o.roi[0] + o.roi[2], y1 = (int64_t)o.roi[1] + o.roi[3];
                if (o.roi[0] >= img.width || o.roi[1] >= img.height) {
                    warn(&o, "%s: %s (skipped)", path, "the ROI lies outside the frame");
                    cnt.skipped++;
                    vs_png_free(&img), free(codes);
                    continue;
                }
                rx = o.roi[0], ry = o.roi[1];
                rw = (int32_t)((x1 < img.width ? x1 : img.width) - rx);
                rh = (int32_t)((y1 < img.height ? y1 : img.height) - ry);
                venseg_session_set_roi(session, rx, ry, rw, rh);
            }

            fmt = vs_png_pixel_format(&img, &img_stride);
            if ((pred = malloc((size_t)img.width * (size_t)img.height)) == NULL) {
                vs_png_free(&img), free(codes);
                goto oom;
            }
            t0 = vs_now_ms();
            st = venseg_segment(session, img.data, fmt, img.width, img.height, img_stride, pred, img.width, NULL, 0);
            ms = vs_now_ms() - t0;
            if (st != VENSEG_OK) {
                snprintf(err, sizeof err, "%s: %s", venseg_status_name(st), venseg_last_error());
                warn(&o, "%s: segmentation failed: %s (skipped)", path, err);
                cnt.skipped++;
                vs_png_free(&img), free(codes), free(pred);
                continue;
            }
            total_ms += ms;
            if (o.save_pred) {
                char out[PATH_MAX];
                path_fmt(out, sizeof out, "%s/%s.png", o.save_pred, stem);
                if (vs_png_write_gray(out, pred, img.width, img.height, img.width, err, sizeof err) != 0) {
                    fprintf(stderr, "venseg eval: --save-pred %s: %s\n", out, err);
                    vs_png_free(&img), free(codes), free(pred);
                    goto done;
                }
            }
            for (int c = 0; c < n_classes; c++) {
                row r;
                memset(&r, 0, sizeof r);
                r.cls = c;
                r.ms = ms;
                if (score(&classes[c], &o, pred + (int64_t)ry * img.width + rx, img.width,
                          codes + (int64_t)ry * img.width + rx, img.width, rw, rh, &buf, &r, err, sizeof err) != 0) {
                    fprintf(stderr, "venseg eval: %s: scoring %s: %s\n", path, classes[c].name, err);
                    vs_png_free(&img), free(codes), free(pred);
                    goto done;
                }
                if (n_rows == cap_rows) {
                    size_t cap = cap_rows ? 2 * cap_rows : 256;
                    row *nr = realloc(rows, cap * sizeof *rows);
                    if (nr == NULL) {
                        vs_png_free(&img), free(codes), free(pred);
                        goto oom;
                    }
                    rows = nr, cap_rows = cap;
                }
                if ((r.file = malloc(strlen(images.v[i]) + 1)) == NULL) {
                    vs_png_free(&img), free(codes), free(pred);
                    goto oom;
                }
                strcpy(r.file, images.v[i]);
                rows[n_rows++] = r;
                if (csv) {
                    double vals[7] = {r.dice, r.jaccard, r.ssim, r.hd95_px, r.hd95_mm, r.asd_px, 0};
                    char num[40];
                    vs_csv_field(csv, r.file);
                    fprintf(csv, ",%s", classes[c].name);
                    for (int k = 0; k < 6; k++) {
                        vs_format_double(num, sizeof num, vals[k]);
                        fprintf(csv, ",%s", num);
                    }
                    fprintf(csv, ",%lld,%lld,%lld,%lld,%lld,%.3f\n", (long long)r.area_pred, (long long)r.area_truth,
                            (long long)r.tp, (long long)r.fp, (long long)r.fn, r.ms);
                }
            }
            cnt.evaluated++;
            if (!o.quiet && isatty(fileno(stderr)))
                fprintf(stderr, "\r[%d] %s %.0f ms   ", cnt.evaluated, images.v[i], ms);
            vs_png_free(&img), free(codes), free(pred);
        }
        if (!o.quiet && cnt.evaluated && isatty(fileno(stderr)))
            fputc('\n', stderr);
        if (cnt.no_label) {
            char n[32];
            snprintf(n, sizeof n, "%d", cnt.no_label);
            warn(&o, "%s image(s) without a label, e.g. %s", n, no_label_first);
        }
    }
    {
        const char *first = NULL;
        for (size_t j = 0; j < label_files.n; j++) {
            if (label_used[j])
                continue;
            path_fmt(path, sizeof path, "%s/%s", o.labels, label_files.v[j]);
            {
                /* the images themselves when --labels is the image folder */
                char p2[PATH_MAX];
                path_fmt(p2, sizeof p2, "%s/%s", o.images, label_files.v[j]);
                if (vs_strlist_find(&images, label_files.v[j]) >= 0 && same_file(path, p2))
                    continue;
            }
            if (cnt.labels_unused++ == 0)
                first = label_files.v[j];
        }
        if (cnt.labels_unused) {
            char n[32];
            snprintf(n, sizeof n, "%d", cnt.labels_unused);
            warn(&o, "%s label file(s) without an image, e.g. %s", n, first);
        }
    }
    if (csv) {
        if (fclose(csv) != 0) {
            csv = NULL;
            fprintf(stderr, "venseg eval: --csv %s: write error\n", o.csv);
            goto done;
        }
        csv = NULL;
    }

    if (cnt.evaluated == 0) {
        fprintf(stderr, "venseg eval: no image was evaluated (%zu images, %d without a label, %d skipped)\n",
                images.n, cnt.no_label, cnt.skipped);
        goto done;
    }
    {
        FILE *sf = NULL;
        printf("venseg eval: %d images evaluated, %d skipped, %d without a label, %d labels without an image; "
               "mode %s, label map %s, empty %s, SSIM %s; precision %s; segmentation %.1f ms/frame, total %.1f s\n\n",
               cnt.evaluated, cnt.skipped, cnt.no_label, cnt.labels_unused, o.vessel_mode ? "vessel" : "classes",
               o.label_map,
               o.empty == VENSEG_EMPTY_NAN ? "nan" : o.empty == VENSEG_EMPTY_MONAI ? "monai" : "smooth",
               o.ssim == VENSEG_SSIM_GAUSSIAN ? "gaussian" : "uniform",
               vs_session_precision(session), total_ms / cnt.evaluated,
               (vs_now_ms() - t_start) / 1e3);
        write_summary(stdout, rows, n_rows, classes, n_classes, unsup, n_unsup, o.spacing_x > 0);
        printf("\n%s\n", summary_note);
        fflush(stdout);
        if (o.summary) {
            if ((sf = fopen(o.summary, "w")) == NULL) {
                fprintf(stderr, "venseg eval: --summary %s: %s\n", o.summary, strerror(errno));
                goto done;
            }
            write_summary(sf, rows, n_rows, classes, n_classes, unsup, n_unsup, o.spacing_x > 0);
            fprintf(sf, "\n%s\n", summary_note);
            if (fclose(sf) != 0) {
                fprintf(stderr, "venseg eval: --summary %s: write error\n", o.summary);
                goto done;
            }
        }
    }
    rc = o.strict && cnt.skipped ? VS_EXIT_SKIPPED : VS_EXIT_OK;
    goto done;
oom:
    fprintf(stderr, "venseg eval: out of memory\n");
done:
    if (csv)
        fclose(csv);
    for (size_t i = 0; i < n_rows; i++)
        free(rows[i].file);
    free(rows);
    free(buf.p), free(buf.t), free(buf.pf), free(buf.tf);
    free(label_used);
    vs_strlist_free(&images), vs_strlist_free(&other), vs_strlist_free(&label_files);
    vs_strlist_free(&json_stems), vs_strlist_free(&json_names), vs_strlist_free(&image_stems);
    venseg_session_free(session);
    venseg_model_free(model);
    vs_labelmap_free(&map);
    return rc;
}
