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

static const char bench_help[] =
    "usage: %s [MODEL.vseg] [--size W H] [--batch N] [--threads T]\n"
    "       [--backend auto|reference|onednn] [--precision fp32|bf16|int8] [--calibrate N]\n"
    "       [--iters N] [--warmup N] [--samples]\n"
    "\n"
    "Times the network alone (venseg_session_run_tensor on a seeded random W x H tensor, no\n"
    "resizing; default 256 x 256, batch 1, 2 threads, 20 timed runs after 3 warm-up runs) and\n"
    "prints JSON: latency median / p90 / min in ms, frames/s, GFLOP/s, the session's backend.\n"
    "MODEL defaults to $VENSEG_MODEL or weights/resunet34.vseg. --calibrate N records int8\n"
    "ranges over N seeded random inputs first (untimed); int8 without it needs ranges stored in\n"
    "the model file. --samples adds every timed latency (\"samples_ms\").\n"
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

static int fail(const char *what, venseg_status st)
{
    fprintf(stderr, "%s: %s: %s: %s\n", prog_name, what, venseg_status_name(st), venseg_last_error());
    return VS_EXIT_ERROR;
}

int vs_bench_main(int argc, char **argv, const char *prog, vs_bench_ceiling_fn ceiling_fn)
{
    prog_name = prog;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf(bench_help, prog);
            return VS_EXIT_OK;
        }
    char model_buf[4096];
    int first = argc > 1 && argv[1][0] != '-' ? 2 : 1;
    const char *path = first == 2 ? argv[1] : vs_default_model(model_buf, sizeof model_buf);
    const char *backend = "auto", *precision = "fp32";
    int width = 256, height = 256, batch = 1, threads = 2, iters = 20, warmup = 3, calibrate = 0, samples = 0;
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 2 < argc) width = atoi(argv[++i]), height = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc) backend = argv[++i];
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) precision = argv[++i];
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--calibrate") && i + 1 < argc) calibrate = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--samples")) samples = 1;
        else {
            fprintf(stderr, "%s: unknown or incomplete option '%s' (--help)\n", prog, argv[i]);
            return VS_EXIT_USAGE;
        }
    }
    if (iters < 1 || batch < 1 || threads < 1 || calibrate < 0) {
        fprintf(stderr, "%s: --iters, --batch and --threads must be >= 1, --calibrate >= 0\n", prog);
        return VS_EXIT_USAGE;
    }
    venseg_backend b = !strcmp(backend, "reference") ? VENSEG_BACKEND_REFERENCE
                       : !strcmp(backend, "onednn")  ? VENSEG_BACKEND_ONEDNN
                                                     : VENSEG_BACKEND_AUTO;
    venseg_precision p = !strcmp(precision, "bf16")   ? VENSEG_PRECISION_BF16
                         : !strcmp(precision, "int8") ? VENSEG_PRECISION_INT8
                                                      : VENSEG_PRECISION_FP32;
    venseg_model *model = NULL;
    venseg_status st;
    char err[1024];
    int lrc = vs_load_model(path, &model, err, sizeof err);
    if (lrc != VS_EXIT_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return lrc;
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
    venseg_model_meta_string(model, "encoder.name", &enc);
    printf("{\n  \"model\": \"%s\",\n  \"architecture\": \"%s%s%s\",\n  \"input\": [%d, %d],\n  \"batch\": %d,\n"
           "  \"threads\": %d,\n  \"backend\": \"%s\",\n  \"precision\": \"%s\",\n  \"session\": \"%s\",\n"
           "  \"build\": \"%s\",\n  \"gmacs_per_frame\": %.4f,\n  \"iterations\": %d,\n"
           "  \"latency_ms\": {\"median\": %.3f, \"p90\": %.3f, \"min\": %.3f},\n  \"frames_per_s\": %.2f,\n"
           "  \"gflops_per_s\": %.1f",
           path, arch, *enc ? "-" : "", enc, width, height, batch, threads, backend, precision, venseg_session_describe(s),
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

