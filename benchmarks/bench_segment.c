/* Latency benchmark of libvenseg's network on one backend and precision; prints JSON.
 *
 *   bench_segment MODEL.vseg [--size W H] [--batch N] [--threads T]
 *                 [--backend auto|reference|onednn] [--precision fp32|bf16|int8]
 *                 [--calibrate N] [--iters N] [--warmup N] [--samples]
 *
 * The input is a seeded random tensor fed through venseg_session_run_tensor (the network
 * alone, no resizing). --calibrate N records int8 ranges over N seeded random inputs
 * (venseg_calibration_add_tensor, other seeds than the timed input; untimed) and creates
 * the session with venseg_session_create_calibrated; int8 without it needs ranges stored
 * in the model file. --samples adds every timed latency to the JSON ("samples_ms").
 * With oneDNN built in, the JSON also carries a measured oneDNN convolution ceiling (a
 * 3x3, 256 -> 256 channel convolution at 64 x 64, the shape where oneDNN is fastest) at the
 * same threads and precision (fp32 for int8), and the fraction of it reached. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#define VENSEG_EXPERIMENTAL
#include <venseg/venseg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef VENSEG_HAVE_ONEDNN
#include "backends/onednn/dnnl_compat.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#endif

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double pos = p / 100.0 * (n - 1);
    int lo = (int)pos, hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

#ifdef VENSEG_HAVE_ONEDNN
/* GFLOP/s of one oneDNN 3x3 convolution, 256 -> 256 channels at 64 x 64, batch 1. */
static double conv_ceiling(int threads, int bf16, int iters)
{
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
#endif
    double gflops = 0;
    dnnl_engine_t eng = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t m[3] = {NULL, NULL, NULL};
    void *buf[3] = {NULL, NULL, NULL};
    vsd_md src, wei, dst, none, q;
    memset(&none, 0, sizeof none);
    const dnnl_data_type_t dt = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_dims_t sd = {1, 256, 64, 64}, wd = {256, 256, 3, 3}, strides = {1, 1}, pad = {1, 1};
    if (dnnl_engine_create(&eng, dnnl_cpu, 0) || dnnl_stream_create(&stream, eng, dnnl_stream_default_flags)) goto out;
    vsd_md_init(&src, 4, sd, dt, dnnl_format_tag_any);
    vsd_md_init(&wei, 4, wd, dt, dnnl_format_tag_any);
    vsd_md_init(&dst, 4, sd, dt, dnnl_format_tag_any);
    if (vsd_conv_pd(&pd, eng, src, wei, none, dst, strides, pad, NULL)) goto out;
    dnnl_query_t what[3] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md};
    int args[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    dnnl_exec_arg_t ea[3];
    for (int i = 0; i < 3; i++) {
        vsd_md_query(&q, pd, what[i], 0);
        buf[i] = calloc(1, vsd_md_size(q));
        vsd_memory_create(&m[i], q, eng, buf[i]);
        vsd_md_free(&q);
        ea[i].arg = args[i];
        ea[i].memory = m[i];
    }
    if (dnnl_primitive_create(&prim, pd)) goto out;
    double *t = malloc(sizeof(double) * (size_t)iters);
    for (int i = -3; i < iters; i++) {
        double t0 = now_ms();
        dnnl_primitive_execute(prim, stream, 3, ea);
        dnnl_stream_wait(stream);
        if (i >= 0) t[i] = now_ms() - t0;
    }
    double med = percentile(t, iters, 50);
    free(t);
    gflops = 2.0 * 256 * 256 * 9 * 64 * 64 / (med * 1e6);
out:
    if (prim) dnnl_primitive_destroy(prim);
    if (pd) dnnl_primitive_desc_destroy(pd);
    for (int i = 0; i < 3; i++) {
        if (m[i]) dnnl_memory_destroy(m[i]);
        free(buf[i]);
    }
    if (stream) dnnl_stream_destroy(stream);
    if (eng) dnnl_engine_destroy(eng);
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
    return gflops;
}
#endif

/* Seeded uniform(-2, 2) values: the same stream for the same seed. */
static void fill_random(float *v, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = (float)((seed >> 8) & 0xffff) / 65535.0f * 4.0f - 2.0f;
    }
}

static int fail(const char *what, venseg_status st)
{
    fprintf(stderr, "bench_segment: %s: %s: %s\n", what, venseg_status_name(st), venseg_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: bench_segment MODEL.vseg [--size W H] [--batch N] [--threads T]\n"
                        "       [--backend auto|reference|onednn] [--precision fp32|bf16|int8] [--calibrate N]\n"
                        "       [--iters N] [--warmup N] [--samples]\n");
        return argc < 2 ? 2 : 0;
    }
    const char *path = argv[1], *backend = "auto", *precision = "fp32";
    int width = 256, height = 256, batch = 1, threads = 2, iters = 20, warmup = 3, calibrate = 0, samples = 0;
    for (int i = 2; i < argc; i++) {
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
            fprintf(stderr, "bench_segment: unknown or incomplete option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (iters < 1 || batch < 1 || threads < 1 || calibrate < 0) {
        fprintf(stderr, "bench_segment: --iters, --batch and --threads must be >= 1, --calibrate >= 0\n");
        return 2;
    }
    venseg_backend b = !strcmp(backend, "reference") ? VENSEG_BACKEND_REFERENCE
                       : !strcmp(backend, "onednn")  ? VENSEG_BACKEND_ONEDNN
                                                     : VENSEG_BACKEND_AUTO;
    venseg_precision p = !strcmp(precision, "bf16")   ? VENSEG_PRECISION_BF16
                         : !strcmp(precision, "int8") ? VENSEG_PRECISION_INT8
                                                      : VENSEG_PRECISION_FP32;
    venseg_model *model = NULL;
    venseg_status st = venseg_model_load_file(path, &model);
    if (st) return fail("load", st);
    venseg_options *opt = NULL;
    venseg_options_create(&opt);
    venseg_options_set(opt, VENSEG_OPT_BACKEND, b);
    venseg_options_set(opt, VENSEG_OPT_PRECISION, p);
    venseg_options_set(opt, VENSEG_OPT_NUM_THREADS, threads);
    int32_t mw, mh, channels, classes;
    venseg_model_input_size(model, &mw, &mh, &channels);
    venseg_model_num_classes(model, &classes);
    venseg_session *s = NULL;
    double calib_ms = 0;
    if (calibrate > 0) {
        venseg_calibration *cal = NULL;
        float *frame = malloc((size_t)channels * width * height * sizeof *frame);
        if (!frame) return 1;
        double t0 = now_ms();
        if ((st = venseg_calibration_create(model, &cal))) return fail("calibration", st);
        for (int i = 0; i < calibrate; i++) {
            fill_random(frame, (size_t)channels * width * height, 777u + 7919u * (unsigned)i);
            if ((st = venseg_calibration_add_tensor(cal, frame, channels, height, width))) return fail("calibrate", st);
        }
        calib_ms = now_ms() - t0;
        st = venseg_session_create_calibrated(model, opt, cal, &s);
        venseg_calibration_free(cal);
        free(frame);
    } else {
        st = venseg_session_create(model, opt, &s);
    }
    venseg_options_free(opt);
    if (st) return fail("session", st);
    int64_t macs = 0;
    if ((st = venseg_model_macs(model, width, height, &macs))) return fail("macs", st);
    size_t in_n = (size_t)batch * channels * width * height, out_n = (size_t)batch * classes * width * height;
    float *in = malloc(in_n * sizeof *in), *out = malloc(out_n * sizeof *out);
    double *t = malloc(sizeof(double) * (size_t)iters);
    if (!in || !out || !t) return 1;
    fill_random(in, in_n, 12345u);
    for (int i = -warmup; i < iters; i++) {
        double t0 = now_ms();
        st = venseg_session_run_tensor(s, in, batch, channels, height, width, 1, out);
        if (st) return fail("run", st);
        if (i >= 0) t[i] = now_ms() - t0;
    }
    double *order = samples ? malloc(sizeof(double) * (size_t)iters) : NULL;
    if (order) memcpy(order, t, sizeof(double) * (size_t)iters);
    double med = percentile(t, iters, 50), p90 = percentile(t, iters, 90), best = t[0];
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
#ifdef VENSEG_HAVE_ONEDNN
    double ceiling = conv_ceiling(threads, p == VENSEG_PRECISION_BF16, 10);
    printf(",\n  \"ceiling_gflops_per_s\": %.1f,\n  \"fraction_of_ceiling\": %.3f", ceiling,
           ceiling > 0 ? gflops / ceiling : 0.0);
#endif
    printf("\n}\n");
    free(in), free(out), free(t);
    venseg_session_free(s);
    venseg_model_free(model);
    return 0;
}
