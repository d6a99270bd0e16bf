/* GPU benchmark of libvenseg's CUDA backend through the public API; prints one JSON object.
 *
 *   bench_cuda MODEL.vseg [--size W H] [--batch N] [--precision fp32|tf32|fp16]
 *              [--device D] [--iters N] [--warmup N] [--backend cuda|auto|reference|onednn]
 *
 * Times venseg_session_run_tensor on seeded random inputs (raw logits: no activation, so
 * the CPU-side sigmoid stays out of the number): host input -> device -> network -> host
 * logits, i.e. what a caller waits for. Reports the per-call latency (median, p10, p90,
 * min) and frames per second (batch / median). With --batch 1 it also times venseg_segment
 * on a phantom frame of the same size (the whole frame pipeline). Session creation (plan,
 * cuDNN algorithm search, CUDA-graph capture) happens in the warm-up and is reported apart. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VENSEG_EXPERIMENTAL
#include <venseg/venseg.h>

#include "util/bench.h"    /* vs_bench_percentile: the venseg program's harness (venseg_app_core) */
#include "util/cli_util.h" /* vs_now_ms */

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
}

static int fail(const char *what, venseg_status st)
{
    printf("{\"error\": ");
    char msg[1400];
    snprintf(msg, sizeof msg, "%s: %s: %s", what, venseg_status_name(st), venseg_last_error());
    json_string(msg);
    printf("}\n");
    return 1;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *precision = "fp32", *backend = "cuda";
    int width = 256, height = 256, batch = 1, device = 0, iters = 50, warmup = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 2 < argc) {
            width = atoi(argv[++i]);
            height = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) precision = argv[++i];
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc) backend = argv[++i];
        else if (!strcmp(argv[i], "--device") && i + 1 < argc) device = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
        else if (argv[i][0] != '-' && !model_path) model_path = argv[i];
        else {
            fprintf(stderr, "usage: %s MODEL.vseg [--size W H] [--batch N] [--precision fp32|tf32|fp16] [--device D] "
                            "[--iters N] [--warmup N] [--backend cuda|auto|reference|onednn]\n", argv[0]);
            return 2;
        }
    }
    if (!model_path || batch < 1 || iters < 1 || warmup < 0 || width < 1 || height < 1) {
        fprintf(stderr, "bench_cuda: a model path and positive sizes are needed\n");
        return 2;
    }
    const int tf32 = !strcmp(precision, "tf32");
    const int prec = !strcmp(precision, "fp16") ? VENSEG_PRECISION_FP16 : VENSEG_PRECISION_FP32;
    const int be = !strcmp(backend, "auto") ? VENSEG_BACKEND_AUTO
                   : !strcmp(backend, "reference") ? VENSEG_BACKEND_REFERENCE
                   : !strcmp(backend, "onednn") ? VENSEG_BACKEND_ONEDNN
                                                : VENSEG_BACKEND_CUDA;
    venseg_model *m = NULL;
    venseg_options *o = NULL;
    venseg_session *s = NULL;
    venseg_status st = venseg_model_load_file(model_path, &m);
    if (st) return fail("venseg_model_load_file", st);
    int32_t classes = 0, cin = 1;
    venseg_model_num_classes(m, &classes);
    int64_t ch = 1;
    if (venseg_model_meta_int(m, "input.channels", &ch) == VENSEG_OK) cin = (int32_t)ch;
    venseg_options_create(&o);
    venseg_options_set(o, VENSEG_OPT_BACKEND, be);
    venseg_options_set(o, VENSEG_OPT_PRECISION, prec);
    venseg_options_set(o, VENSEG_OPT_DEVICE, device);
    venseg_options_set(o, VENSEG_OPT_ALLOW_TF32, tf32);
    if ((st = venseg_session_create(m, o, &s))) return fail("venseg_session_create", st);

    const size_t in_n = (size_t)batch * cin * height * width, out_n = (size_t)batch * classes * height * width;
    float *x = malloc(in_n * sizeof *x), *y = malloc(out_n * sizeof *y);
    double *t = malloc((size_t)iters * sizeof *t);
    if (!x || !y || !t) return 1;
    unsigned r = 12345u;
    for (size_t i = 0; i < in_n; i++) {
        r = r * 1664525u + 1013904223u;
        x[i] = (float)((r >> 8) / 16777216.0 * 4.0 - 2.0);
    }
    double t0 = vs_now_ms();
    if ((st = venseg_session_run_tensor(s, x, batch, cin, height, width, 0, y))) return fail("first run", st);
    const double first_ms = vs_now_ms() - t0;
    for (int i = 0; i < warmup; i++)
        if ((st = venseg_session_run_tensor(s, x, batch, cin, height, width, 0, y))) return fail("warm-up", st);
    for (int i = 0; i < iters; i++) {
        t0 = vs_now_ms();
        if ((st = venseg_session_run_tensor(s, x, batch, cin, height, width, 0, y))) return fail("run", st);
        t[i] = vs_now_ms() - t0;
    }
    double checksum = 0;
    for (size_t i = 0; i < out_n; i++) checksum += y[i];
    const double med = vs_bench_percentile(t, iters, 50);

    /* batch 1: the whole frame pipeline on a phantom frame of the same size */
    double seg_ms = -1;
    if (batch == 1) {
        venseg_phantom_config *pc = NULL;
        venseg_phantom *ph = NULL;
        venseg_phantom_config_create(&pc);
        venseg_phantom_config_set(pc, VENSEG_PHANTOM_WIDTH, width);
        venseg_phantom_config_set(pc, VENSEG_PHANTOM_HEIGHT, height);
        uint8_t *px = malloc((size_t)width * height), *mask = malloc((size_t)width * height);
        if (px && mask && venseg_phantom_create(pc, &ph) == VENSEG_OK &&
            venseg_phantom_frame(ph, 0, px, width, NULL, 0) == VENSEG_OK) {
            double *ts = malloc((size_t)iters * sizeof *ts);
            int ok = ts != NULL;
            for (int i = -warmup - 1; ok && i < iters; i++) {
                t0 = vs_now_ms();
                ok = venseg_segment(s, px, VENSEG_PIXEL_GRAY8, width, height, width, mask, width, NULL, 0) == VENSEG_OK;
                if (i >= 0) ts[i] = vs_now_ms() - t0;
            }
            if (ok) {
                seg_ms = vs_bench_percentile(ts, iters, 50);
            }
            free(ts);
        }
        free(px);
        free(mask);
        venseg_phantom_free(ph);
        venseg_phantom_config_free(pc);
    }

    printf("{\"model\": ");
    json_string(model_path);
    printf(", \"backend\": ");
    json_string(backend);
    printf(", \"precision\": ");
    json_string(precision);
    printf(", \"device\": %d, \"batch\": %d, \"width\": %d, \"height\": %d, \"iters\": %d, \"warmup\": %d", device, batch,
           width, height, iters, warmup);
    printf(", \"first_run_ms\": %.3f, \"median_ms\": %.4f, \"p10_ms\": %.4f, \"p90_ms\": %.4f, \"min_ms\": %.4f", first_ms,
           med, vs_bench_percentile(t, iters, 10), vs_bench_percentile(t, iters, 90), t[0]);
    printf(", \"frames_per_s\": %.1f, \"segment_frame_median_ms\": %.4f, \"logit_checksum\": %.6g", batch / (med / 1e3),
           seg_ms, checksum);
    printf(", \"session\": ");
    json_string(venseg_session_describe(s));
    printf(", \"build\": ");
    json_string(venseg_build_info());
    printf("}\n");
    free(x), free(y), free(t);
    venseg_session_free(s);
    venseg_options_free(o);
    venseg_model_free(m);
    return 0;
}
