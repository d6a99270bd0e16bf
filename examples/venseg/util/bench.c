/* bench.c: latency benchmark of libvenseg's network on one backend and precision, as JSON.
 * Shared by `venseg bench` and benchmarks/bench_segment (which adds a measured oneDNN
 * convolution ceiling through the ceiling callback). See bench_help below. */
#define VENSEG_EXPERIMENTAL
#include <venseg/venseg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bench.h"
#include "util/cli_util.h"
#include "util/options.h"

static const char bench_help[] =
    "usage: %s [MODEL.vseg] [--size W H] [--batch N] [--threads T]\n"
    "       [--backend auto|reference|onednn|cuda] [--precision fp32|bf16|int8|fp16|auto] [--calibrate N]\n"
    "       [--iters N] [--warmup N] [--samples] [--verbose]\n"
    "       %s [MODEL.vseg] --pipeline CLIP [--threads T] [--precision P] [--track-size N|full]\n"
    "       [--no-pipeline] [--verbose]\n"
    "\n"
    "Times the network alone (venseg_session_run_tensor on a seeded random W x H tensor, no\n"
    "resizing; default 256 x 256, batch 1, 2 threads, 20 timed runs after 3 warm-up runs) and\n"
    "prints JSON: latency median / p90 / min in ms, frames/s, GFLOP/s, the session's backend.\n"
    "MODEL defaults to $VENSEG_MODEL, weights/resunet34.vseg or the installed copy.\n"
    "--calibrate N records int8 ranges over N seeded random inputs first (untimed); int8\n"
    "without it needs ranges stored in the model file. --samples adds every timed latency\n"
    "(\"samples_ms\"). \"session\" says what ran; when AUTO could not use a GPU it ends in\n"
    "\"CPU (no GPU found)\" or the like, and --verbose gives the library's reason in full.\n"
    "--pipeline CLIP times `venseg analyze CLIP` end to end instead (its outputs go to a\n"
    "temporary folder, removed after) and prints its \"timing\": frames/s, wall ms, peak RSS and\n"
    "ms per frame of each stage (decode, segment_track, network, overlay, encode), with the\n"
    "precision and threads that ran; --threads as analyze's (default: the cores but one beside\n"
    "the decoding and encoding threads), --track-size as analyze's (default 320 px, or the\n"
    "model's input side if larger; full: the clip's size), --no-pipeline runs the stages in\n"
    "turn on one thread.\n"
    "Every value is checked: a bad one is a usage error (status 2).\n"
    "\n"
    VS_EXIT_HELP;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double vs_bench_percentile(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double pos = p / 100.0 * (n - 1);
    int lo = (int)pos, hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

/* Seeded uniform(-2, 2) values: the same stream for the same seed. */
static void fill_random(float *v, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = (float)((seed >> 8) & 0xffff) / 65535.0f * 4.0f - 2.0f;
    }
}

static const char *prog_name = "bench";

/* "PROG: MSG ARG[ ARG2] (PROG --help)" on stderr; VS_EXIT_USAGE. */
static int bench_usage(const char *prog, const char *msg, const char *arg, const char *arg2)
{
    fprintf(stderr, "%s: %s%s%s%s (%s --help)\n", prog, msg, arg, *arg2 ? " " : "", arg2, prog);
    return VS_EXIT_USAGE;
}

static int fail(const char *what, venseg_status st)
{
    fprintf(stderr, "%s: %s: %s: %s\n", prog_name, what, venseg_status_name(st), venseg_last_error());
    return VS_EXIT_ERROR;
}

int vs_bench_main(int argc, char **argv, const char *prog, vs_bench_ceiling_fn ceiling_fn)
{
    return vs_bench_main_ex(argc, argv, prog, ceiling_fn, NULL);
}

int vs_bench_main_ex(int argc, char **argv, const char *prog, vs_bench_ceiling_fn ceiling_fn,
                     vs_bench_pipeline_fn pipeline_fn)
{
    prog_name = prog;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf(bench_help, prog, prog);
            return VS_EXIT_OK;
        }
    char model_buf[4096];
    int first = argc > 1 && argv[1][0] != '-' ? 2 : 1;
    const char *path = first == 2 ? argv[1] : vs_default_model(model_buf, sizeof model_buf);
    /* every option is checked: a bad value is a usage error (2) naming the valid ones,
     * never echoed into the JSON while something else runs */
    static const char *const backend_names[] = {"auto", "reference", "onednn", "cuda"};
    static const venseg_backend backends[] = {VENSEG_BACKEND_AUTO, VENSEG_BACKEND_REFERENCE, VENSEG_BACKEND_ONEDNN,
                                              VENSEG_BACKEND_CUDA};
    const char *backend = "auto", *precision = "fp32";
    int width = 256, height = 256, batch = 1, threads = 2, iters = 20, warmup = 3, calibrate = 0, samples = 0,
        verbose = 0;
    venseg_backend b = VENSEG_BACKEND_AUTO;
    venseg_precision p = VENSEG_PRECISION_FP32;
    const char *clip = NULL, *network_only = NULL; /* --pipeline CLIP; an option that times the network alone */
    const char *track_given = NULL;                 /* --track-size: with --pipeline only */
    int sequential = 0, threads_given = 0, track_size = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i], *v;
        long lv;
        int k;
        if (!strcmp(a, "--samples")) {
            samples = 1;
            network_only = a;
            continue;
        }
        if (!strcmp(a, "--no-pipeline")) {
            sequential = 1;
            continue;
        }
        if (!strcmp(a, "--verbose")) {
            verbose = 1;
            continue;
        }
        static const struct {
            const char *name, *what;
            long lo, hi;
        } ints[] = {{"--batch", "1..1024", 1, 1024},     {"--threads", "1..1024", 1, 1024},
                    {"--iters", "1..1000000", 1, 1000000}, {"--warmup", "0..1000000", 0, 1000000},
                    {"--calibrate", "0..100000", 0, 100000}};
        int *const int_out[] = {&batch, &threads, &iters, &warmup, &calibrate};
        int known = vs_is_option(a, "--size") || vs_is_option(a, "--backend") || vs_is_option(a, "--precision") ||
                    vs_is_option(a, "--pipeline") || vs_is_option(a, "--track-size");
        for (size_t n = 0; n < sizeof ints / sizeof ints[0]; n++) known |= vs_is_option(a, ints[n].name);
        if (!known || !(v = vs_option_value(argc, argv, &i)))
            return bench_usage(prog, "unknown or incomplete option ", a, "");
        if (!vs_is_option(a, "--pipeline") && !vs_is_option(a, "--precision") && !vs_is_option(a, "--threads") &&
            !vs_is_option(a, "--track-size"))
            network_only = a;
        threads_given |= vs_is_option(a, "--threads");
        if (vs_is_option(a, "--pipeline")) {
            if (!*v) return bench_usage(prog, "--pipeline needs a CLIP, not an empty name", "", "");
            clip = v;
        } else if (vs_is_option(a, "--track-size")) {
            char why[160];
            if (!vs_parse_track_size(v, &track_size, why, sizeof why)) return bench_usage(prog, why, "", "");
            track_given = a;
        } else if (vs_is_option(a, "--size")) {
            long h;
            if (!vs_parse_long(v, 1, 16384, &lv) || i + 1 >= argc || !vs_parse_long(argv[i + 1], 1, 16384, &h))
                return bench_usage(prog, "--size needs W H, each 1..16384, not ", v,
                                   i + 1 < argc ? argv[i + 1] : "");
            width = (int)lv, height = (int)h, i++;
        } else if (vs_is_option(a, "--backend")) {
            if ((k = vs_parse_choice(v, backend_names, 4)) < 0)
                return bench_usage(prog, "--backend must be auto, reference, onednn or cuda, not ", v, "");
            backend = backend_names[k], b = backends[k];
        } else if (vs_is_option(a, "--precision")) {
            if ((k = vs_parse_precision(v)) < 0) {
                char msg[96];
                snprintf(msg, sizeof msg, "--precision must be %s, not ", vs_precision_choices);
                return bench_usage(prog, msg, v, "");
            }
            precision = vs_precision_label(k), p = (venseg_precision)k;
        } else {
            for (size_t n = 0; n < sizeof ints / sizeof ints[0]; n++)
                if (vs_is_option(a, ints[n].name)) {
                    if (!vs_parse_long(v, ints[n].lo, ints[n].hi, &lv)) {
                        char what[64];
                        snprintf(what, sizeof what, "%s must be %s, not ", ints[n].name, ints[n].what);
                        return bench_usage(prog, what, v, "");
                    }
                    *int_out[n] = (int)lv;
                }
        }
    }
    if (clip && network_only)
        return bench_usage(prog, "--pipeline times the whole analysis of a clip; this option times the network alone: ",
                           network_only, "");
    if (sequential && !clip) return bench_usage(prog, "--no-pipeline goes with --pipeline CLIP", "", "");
    if (track_given && !clip) return bench_usage(prog, "--track-size goes with --pipeline CLIP", "", "");
    if (clip && !pipeline_fn) {
        fprintf(stderr, "%s: --pipeline: this build has no clip analysis (use venseg bench)\n", prog);
        return VS_EXIT_UNAVAILABLE;
    }
    if (clip) return pipeline_fn(prog, clip, first == 2 ? argv[1] : NULL, threads_given ? threads : 0, (int)p,
                                 track_size, sequential, verbose);
    if (calibrate > 0 && p != VENSEG_PRECISION_INT8)
        return bench_usage(prog, "--calibrate N records int8 ranges: it goes with --precision int8, not ", precision,
                           "");
    venseg_model *model = NULL;
    venseg_status st;
    char err[1024];
    int lrc = vs_load_model(path, &model, err, sizeof err);
    if (lrc != VS_EXIT_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return lrc;
    }
    const char *unused;
    if (p == VENSEG_PRECISION_INT8 && !calibrate &&
        (venseg_model_meta_string(model, "int8.activation_names", &unused) == VENSEG_E_NOT_FOUND ||
         venseg_model_meta_string(model, "int8.activation_max", &unused) == VENSEG_E_NOT_FOUND)) {
        /* the library's own message names its C calls; say what to do here instead */
        fprintf(stderr,
                "%s: --precision int8: %s stores no int8 activation ranges; add --calibrate N to record them "
                "first over N seeded random inputs (e.g. --calibrate 8), or use a model file with the ranges stored\n",
                prog, path);
        venseg_model_free(model);
        return VS_EXIT_ERROR;
    }
    venseg_session_config *opt = NULL;
    venseg_session_config_create(&opt);
    venseg_session_config_set(opt, VENSEG_OPT_BACKEND, b);
    venseg_session_config_set(opt, VENSEG_OPT_PRECISION, p);
    venseg_session_config_set(opt, VENSEG_OPT_NUM_THREADS, threads);
    int32_t mw, mh, channels, classes;
    venseg_model_input_size(model, &mw, &mh, &channels);
    venseg_model_class_count(model, &classes);
    venseg_session *s = NULL;
    double calib_ms = 0;
    if (calibrate > 0) {
        venseg_calibration *cal = NULL;
        float *frame = malloc((size_t)channels * width * height * sizeof *frame);
        if (!frame) return VS_EXIT_ERROR;
        double t0 = vs_now_ms();
        if ((st = venseg_calibration_create(model, &cal))) return fail("calibration", st);
        for (int i = 0; i < calibrate; i++) {
            fill_random(frame, (size_t)channels * width * height, 777u + 7919u * (unsigned)i);
            if ((st = venseg_calibration_add_tensor(cal, frame, channels, height, width))) return fail("calibrate", st);
        }
        calib_ms = vs_now_ms() - t0;
        st = venseg_session_create_calibrated(model, opt, cal, &s);
        venseg_calibration_free(cal);
        free(frame);
    } else {
        st = venseg_session_create(model, opt, &s);
    }
    venseg_session_config_free(opt);
    if (st) return fail("session", st);
    int64_t macs = 0;
    if ((st = venseg_model_macs(model, width, height, &macs))) return fail("macs", st);
    size_t in_n = (size_t)batch * channels * width * height, out_n = (size_t)batch * classes * width * height;
    float *in = malloc(in_n * sizeof *in), *out = malloc(out_n * sizeof *out);
    double *t = malloc(sizeof(double) * (size_t)iters);
    if (!in || !out || !t) return VS_EXIT_ERROR;
    fill_random(in, in_n, 12345u);
    for (int i = -warmup; i < iters; i++) {
        double t0 = vs_now_ms();
        st = venseg_session_run_tensor(s, in, batch, channels, height, width, 1, out);
        if (st) return fail("run", st);
        if (i >= 0) t[i] = vs_now_ms() - t0;
    }
    double *order = samples ? malloc(sizeof(double) * (size_t)iters) : NULL;
    if (order) memcpy(order, t, sizeof(double) * (size_t)iters);
    double med = vs_bench_percentile(t, iters, 50), p90 = vs_bench_percentile(t, iters, 90), best = t[0];
    double gflops = 2.0 * (double)macs * batch / (med * 1e6);
    const char *arch = "";
    venseg_model_meta_string(model, "general.architecture", &arch);
    const char *enc = "";
    char session_text[1024]; /* what ran, without the CUDA runtime's error on a CPU machine (--verbose: in full) */
    venseg_model_meta_string(model, "encoder.name", &enc);
    printf("{\n  \"model\": \"%s\",\n  \"architecture\": \"%s%s%s\",\n  \"input\": [%d, %d],\n  \"batch\": %d,\n"
           "  \"threads\": %d,\n  \"backend\": \"%s\",\n  \"precision\": \"%s\",\n  \"session\": \"%s\",\n"
           "  \"build\": \"%s\",\n  \"gmacs_per_frame\": %.4f,\n  \"iterations\": %d,\n"
           "  \"latency_ms\": {\"median\": %.3f, \"p90\": %.3f, \"min\": %.3f},\n  \"frames_per_s\": %.2f,\n"
           "  \"gflops_per_s\": %.1f",
           path, arch, *enc ? "-" : "", enc, width, height, batch, threads, backend, vs_session_precision(s), vs_session_text(venseg_session_describe(s), verbose, session_text, sizeof session_text),
           venseg_build_info(), macs / 1e9, iters, med, p90, best, batch * 1000.0 / med, gflops);
    if (calibrate > 0) printf(",\n  \"calibration\": {\"frames\": %d, \"ms\": %.1f}", calibrate, calib_ms);
    if (order) {
        printf(",\n  \"samples_ms\": [");
        for (int i = 0; i < iters; i++) printf("%s%.3f", i ? ", " : "", order[i]);
        printf("]");
        free(order);
    }
    if (ceiling_fn) {
        double ceiling = ceiling_fn(threads, p == VENSEG_PRECISION_BF16, 10);
        printf(",\n  \"ceiling_gflops_per_s\": %.1f,\n  \"fraction_of_ceiling\": %.3f", ceiling,
               ceiling > 0 ? gflops / ceiling : 0.0);
    }
    printf("\n}\n");
    free(in), free(out), free(t);
    venseg_session_free(s);
    venseg_model_free(model);
    return 0;
}

