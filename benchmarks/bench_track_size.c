/* bench_track_size: what VENSEG_TRACKER_MAX_SIDE saves per frame. A seeded W x H phantom clip
 * goes through venseg_tracker_push_frame (with a label mask, as venseg analyze asks for) at
 * each max side; before each push the network alone runs once on the same session, and the
 * push minus that run is the frame's preprocessing + postprocessing + tracking. Paired so that
 * a loaded machine's drift cancels; prints the median and quartiles per side, and the verdict
 * and compressibility each side gives.
 *
 *   bench_track_size MODEL.vseg [W H FRAMES [SIDE ...]]   (default 640 480 90, sides 0 480 320 240 160)
 */
#define _POSIX_C_SOURCE 200809L
#define VENSEG_EXPERIMENTAL /* venseg_session_run_tensor: the network alone */
#include <venseg/venseg.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int fail(const char *what)
{
    fprintf(stderr, "bench_track_size: %s: %s\n", what, venseg_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (argc > 2 && argc < 5)) {
        fprintf(stderr, "usage: %s MODEL.vseg [W H FRAMES [SIDE ...]]\n", argv[0]);
        return 2;
    }
    const int w = argc > 2 ? atoi(argv[2]) : 640, h = argc > 2 ? atoi(argv[3]) : 480, n = argc > 2 ? atoi(argv[4]) : 90;
    int sides[16] = {0, 480, 320, 240, 160}, n_sides = 5;
    if (argc > 5)
        for (n_sides = 0; n_sides < 16 && 5 + n_sides < argc; n_sides++) sides[n_sides] = atoi(argv[5 + n_sides]);
    if (w < 1 || h < 1 || n < 10) {
        fprintf(stderr, "bench_track_size: W, H >= 1 and FRAMES >= 10\n");
        return 2;
    }
    const double spacing = 0.15 * 256 / h; /* the phantom's anatomy at any size */
    venseg_model *m = NULL;
    venseg_options *o = NULL;
    venseg_session *s = NULL;
    venseg_phantom_config *pc = NULL;
    venseg_phantom *ph = NULL;
    if (venseg_model_load_file(argv[1], &m)) return fail(argv[1]);
    if (venseg_options_create(&o) || venseg_options_set(o, VENSEG_OPT_NUM_THREADS, 1) ||
        venseg_options_set(o, VENSEG_OPT_PRECISION, VENSEG_PRECISION_AUTO) || venseg_session_create(m, o, &s))
        return fail("session");
    int32_t nw, nh, nc;
    venseg_model_input_size(m, &nw, &nh, &nc);
    if (venseg_phantom_config_create(&pc) || venseg_phantom_config_set(pc, VENSEG_PHANTOM_WIDTH, w) ||
        venseg_phantom_config_set(pc, VENSEG_PHANTOM_HEIGHT, h) || venseg_phantom_config_set(pc, VENSEG_PHANTOM_FRAMES, n) ||
        venseg_phantom_config_set(pc, VENSEG_PHANTOM_PIXEL_SPACING, spacing) || venseg_phantom_create(pc, &ph))
        return fail("phantom");
    uint8_t *px = malloc((size_t)w * h * n), *mask = malloc((size_t)w * h);
    float *in = calloc((size_t)nw * nh * nc, sizeof *in), *out = calloc((size_t)nw * nh * 16, sizeof *out);
    double *ms = malloc((size_t)n * sizeof *ms);
    if (!px || !mask || !in || !out || !ms) {
        fprintf(stderr, "bench_track_size: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n; i++)
        if (venseg_phantom_frame(ph, i, px + (size_t)i * w * h, w, NULL, 0)) return fail("phantom frame");
    printf("%s, %d x %d phantom, %d frames; network %d x %d; %s\n", argv[1], w, h, n, nw, nh, venseg_session_describe(s));
    for (int k = 0; k < n_sides; k++) {
        venseg_tracker_config *c = NULL;
        venseg_tracker *t = NULL;
        if (venseg_tracker_config_create(&c) || venseg_tracker_config_set(c, VENSEG_TRACKER_MAX_SIDE, sides[k]) ||
            venseg_tracker_config_set(c, VENSEG_TRACKER_FRAME_RATE, 30) ||
            venseg_tracker_config_set(c, VENSEG_TRACKER_PIXEL_SPACING_X, spacing) ||
            venseg_tracker_config_set(c, VENSEG_TRACKER_PIXEL_SPACING_Y, spacing) || venseg_tracker_create(c, &t))
            return fail("tracker");
        venseg_tracker_config_free(c);
        for (int i = 0; i < n; i++) {
            const double t0 = now_ms();
            if (venseg_session_run_tensor(s, in, 1, nc, nh, nw, 1, out)) return fail("network");
            const double t1 = now_ms();
            if (venseg_tracker_push_frame(t, s, px + (size_t)i * w * h, VENSEG_PIXEL_GRAY8, w, h, w, mask, w))
                return fail("push");
            ms[i] = (now_ms() - t1) - (t1 - t0);
        }
        qsort(ms, (size_t)n, sizeof *ms, by_value);
        venseg_track_summary sm = {.struct_size = sizeof sm};
        venseg_tracker_summary_get(t, &sm);
        printf("max side %5d: push - network, ms per frame: median %.2f (quartiles %.2f, %.2f); %s, C %.2f %%, "
               "baseline %.0f px\n",
               sides[k], ms[n / 2], ms[n / 4], ms[3 * n / 4], venseg_verdict_name((venseg_verdict)sm.verdict),
               sm.compressibility_percent, sm.baseline_area_px);
        venseg_tracker_free(t);
    }
    free(px), free(mask), free(in), free(out), free(ms);
    venseg_phantom_free(ph);
    venseg_phantom_config_free(pc);
    venseg_session_free(s);
    venseg_options_free(o);
    venseg_model_free(m);
    return 0;
}
