/* Sessions: resident memory of one model with 1, 2 ... N sessions, each having run one
 * frame; prints JSON. Not a test (it measures). Each configuration runs in a fresh
 * process (this program re-executed with --one), so freed memory of one cannot hide
 * in the next one's numbers.
 *
 *   bench_sessions [--model PATH] [--sessions N] [--threads T] [--config NAME]...
 *
 * Configurations (all by default): onednn-fp32, onednn-int8, reference-fp32, each
 * with venseg_segment on a 256 x 256 frame (the network runs at the model's input
 * size, 160 x 160 for the shipped model) and with venseg_session_run_tensor at
 * 256 x 256, e.g. "onednn-fp32/segment" or "reference-fp32/tensor256". int8 uses the
 * model's ranges, or when it has none a calibration on one synthetic frame (made and
 * freed before the "model" sample). RSS is VmRSS and VmHWM of /proc/self/status;
 * "output_fnv1a" hashes the first session's output (probabilities and mask, or
 * logits) to compare builds bit for bit, and "sessions_identical" says whether every
 * session gave the same bytes. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <venseg/venseg.h>
#include <venseg/venseg_experimental.h>

enum { MAX_SESSIONS = 64, FRAME = 256 };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* VmRSS and VmHWM in KiB (-1 when /proc is not there). */
static void rss(long *now, long *peak)
{
    *now = *peak = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6)) *now = atol(line + 6);
        else if (!strncmp(line, "VmHWM:", 6)) *peak = atol(line + 6);
    }
    fclose(f);
}

static int fail(const char *what, venseg_status st)
{
    fprintf(stderr, "bench_sessions: %s: %s: %s\n", what, venseg_status_name(st), venseg_last_error());
    return 1;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* A grey frame with two dark discs, deterministic. */
static void frame(uint8_t *px, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int dx1 = x - w / 3, dy1 = y - h / 2, dx2 = x - 2 * w / 3, dy2 = y - h / 2 - 10;
            int in = dx1 * dx1 + dy1 * dy1 < 900 || dx2 * dx2 + dy2 * dy2 < 600;
            px[(size_t)y * w + x] = (uint8_t)(in ? 20 + (x * 7 + y * 3) % 11 : 90 + (x * 13 + y * 5) % 60);
        }
}

/* One configuration in this process: prints one JSON object. */
static int one(const char *model_path, const char *config, int n_sessions, int threads)
{
    venseg_backend backend = VENSEG_BACKEND_ONEDNN;
    venseg_precision prec = VENSEG_PRECISION_FP32;
    if (!strncmp(config, "reference-fp32/", 15)) backend = VENSEG_BACKEND_REFERENCE;
    else if (!strncmp(config, "onednn-int8/", 12)) prec = VENSEG_PRECISION_INT8;
    else if (strncmp(config, "onednn-fp32/", 12)) return fail(config, VENSEG_E_INVALID_ARGUMENT);
    const char *mode = strchr(config, '/') + 1;
    const int tensor = !strcmp(mode, "tensor256");
    if (!tensor && strcmp(mode, "segment")) return fail(config, VENSEG_E_INVALID_ARGUMENT);

    long r0, h0, r, h;
    rss(&r0, &h0);
    venseg_status st;
    venseg_model *m = NULL;
    venseg_options *o = NULL;
    venseg_calibration *cal = NULL;
    if ((st = venseg_model_load_file(model_path, &m))) return fail(model_path, st);
    if ((st = venseg_options_create(&o)) || (st = venseg_options_set(o, VENSEG_OPT_BACKEND, backend)) ||
        (st = venseg_options_set(o, VENSEG_OPT_PRECISION, prec)) ||
        (st = venseg_options_set(o, VENSEG_OPT_NUM_THREADS, threads)))
        return fail("options", st);
    uint8_t *px = malloc((size_t)FRAME * FRAME), *mask = malloc((size_t)FRAME * FRAME);
    float *in = malloc(sizeof(float) * FRAME * FRAME), *out = NULL;
    int32_t classes = 0;
    venseg_model_num_classes(m, &classes);
    out = malloc(sizeof(float) * FRAME * FRAME * (size_t)classes);
    const size_t out_bytes = sizeof(float) * FRAME * FRAME * (size_t)classes;
    if (!px || !mask || !in || !out) return fail("buffers", VENSEG_E_OUT_OF_MEMORY);
    frame(px, FRAME, FRAME);
    for (int i = 0; i < FRAME * FRAME; i++) in[i] = (px[i] / 255.0f - 0.449f) / 0.226f;
    const char *ranges = "";
    if (prec == VENSEG_PRECISION_INT8) {
        venseg_session *probe = NULL;
        st = venseg_session_create(m, o, &probe);
        venseg_session_free(probe);
        ranges = "model";
        if (st == VENSEG_E_UNSUPPORTED) { /* no ranges in the model: calibrate on the frame */
            ranges = "calibrated on one synthetic frame";
            if ((st = venseg_calibration_create(m, &cal)) ||
                (st = venseg_calibration_add_frame(cal, px, VENSEG_PIXEL_GRAY8, FRAME, FRAME, FRAME)))
                return fail("calibration", st);
        } else if (st) {
            return fail("int8 session", st);
        }
    }
    long rm, hm;
    rss(&rm, &hm);
    printf("{\"config\": \"%s\", \"threads\": %d, \"network_input\": \"%s\"%s%s%s, \"rss_start_kib\": %ld, "
           "\"model\": {\"rss_kib\": %ld, \"hwm_kib\": %ld}, \"sessions\": [",
           config, threads, tensor ? "256x256 (run_tensor)" : "the model's (segment of a 256x256 frame)",
           *ranges ? ", \"int8_ranges\": \"" : "", ranges, *ranges ? "\"" : "", r0, rm, hm);
    venseg_session *s[MAX_SESSIONS] = {0};
    long r1 = 0, r2 = 0;
    double first_ms = 0;
    uint64_t hash0 = 0;
    int identical = 1;
    for (int i = 0; i < n_sessions; i++) {
        st = cal ? venseg_session_create_calibrated(m, o, cal, &s[i]) : venseg_session_create(m, o, &s[i]);
        if (st) return fail("session", st);
        const double t0 = now_s();
        st = tensor ? venseg_session_run_tensor(s[i], in, 1, 1, FRAME, FRAME, 1, out)
                    : venseg_segment(s[i], px, VENSEG_PIXEL_GRAY8, FRAME, FRAME, FRAME, mask, FRAME, out, FRAME);
        if (st) return fail("run", st);
        const double ms = (now_s() - t0) * 1e3; /* planning + the first run */
        uint64_t hash = fnv1a(14695981039346656037ull, out, out_bytes);
        if (!tensor) hash = fnv1a(hash, mask, (size_t)FRAME * FRAME);
        if (i == 0) hash0 = hash;
        identical &= hash == hash0;
        if (i == 0) first_ms = ms;
        rss(&r, &h);
        if (i == 0) r1 = r;
        if (i == 1) r2 = r;
        printf("%s{\"n\": %d, \"rss_kib\": %ld, \"hwm_kib\": %ld, \"first_frame_ms\": %.1f}", i ? ", " : "", i + 1, r,
               h, ms);
    }
    const long first = r1 - rm, second = n_sessions > 1 ? r2 - r1 : 0;
    printf("], \"first_session_kib\": %ld, \"second_session_kib\": %ld, \"second_over_first\": %.3f, "
           "\"per_session_after_second_kib\": %.0f, \"first_plan_and_run_ms\": %.1f, \"output_fnv1a\": \"%016llx\", "
           "\"sessions_identical\": %s, \"describe\": \"%s\"}",
           first, second, first > 0 ? (double)second / (double)first : 0.0,
           n_sessions > 2 ? (double)(r - r2) / (n_sessions - 2) : 0.0, first_ms, (unsigned long long)hash0,
           identical ? "true" : "false", venseg_session_describe(s[0]));
    for (int i = 0; i < n_sessions; i++) venseg_session_free(s[i]);
    venseg_calibration_free(cal);
    venseg_options_free(o);
    venseg_model_free(m);
    free(px), free(mask), free(in), free(out);
    return 0;
}

int main(int argc, char **argv)
{
    const char *model_path = "weights/resunet34.vseg", *only = NULL;
    const char *configs[16];
    int n_configs = 0, n_sessions = 8, threads = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const int more = i + 1 < argc;
        if (!strcmp(a, "--model") && more) model_path = argv[++i];
        else if (!strcmp(a, "--sessions") && more) n_sessions = atoi(argv[++i]);
        else if (!strcmp(a, "--threads") && more) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--config") && more && n_configs < 16) configs[n_configs++] = argv[++i];
        else if (!strcmp(a, "--one") && more) only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_sessions [--model PATH] [--sessions N] [--threads T] [--config NAME]...\n");
            return 2;
        }
    }
    if (n_sessions < 1 || n_sessions > MAX_SESSIONS) return fail("--sessions", VENSEG_E_INVALID_ARGUMENT);
    if (only) return one(model_path, only, n_sessions, threads);
    if (!n_configs) {
        static const char *const all[] = {"onednn-fp32/segment", "onednn-fp32/tensor256", "onednn-int8/segment",
                                          "onednn-int8/tensor256", "reference-fp32/segment",
                                          "reference-fp32/tensor256"};
        for (int i = 0; i < 6; i++) configs[n_configs++] = all[i];
    }
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) return fail("/proc/self/exe", VENSEG_E_IO);
    self[len] = 0;
    printf("{\"model\": \"%s\", \"library\": \"%s\", \"sessions\": %d, \"results\": [\n", model_path,
           venseg_build_info(), n_sessions);
    int rc = 0;
    for (int c = 0; c < n_configs; c++) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "'%s' --one '%s' --model '%s' --sessions %d --threads %d", self, configs[c],
                 model_path, n_sessions, threads);
        fflush(stdout);
        FILE *p = popen(cmd, "r");
        if (!p) return fail("popen", VENSEG_E_IO);
        char buf[8192];
        size_t got = fread(buf, 1, sizeof buf - 1, p);
        buf[got] = 0;
        int status = pclose(p);
        if (status != 0 || !got) {
            printf("%s{\"config\": \"%s\", \"error\": \"see stderr\"}", c ? ",\n" : "", configs[c]);
            rc = 1;
        } else {
            printf("%s%s", c ? ",\n" : "", buf);
        }
    }
    printf("\n]}\n");
    return rc;
}
