/* Soak: many phantom frames through one session and one tracker, with the process's
 * resident memory sampled as it goes; prints JSON. Not a test (it measures).
 *
 *   soak [--model PATH] [--frames N] [--sample N] [--size W H] [--reset-every K]
 *        [--backend auto|reference|onednn] [--threads T] [--warmup N]
 *
 * Defaults: tests/data/tiny_plain_unet.vseg (finishes in about a minute; pass
 * --model weights/resunet34.vseg for the shipped model), 10000 frames, RSS every 100
 * frames, 128 x 128 frames from a 90-frame compression phantom played in a loop,
 * --reset-every 0 (one tracker sequence over all frames: its per-frame history grows
 * by design; give 90 to reset it once per compression sequence, as an application
 * does). "flat" compares the RSS after --warmup frames (default 10 %) with the end. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <venseg/venseg.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Resident set size in KiB, from /proc/self/statm (second field, in pages). */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = -1;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
        fclose(f);
    }
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int fail(const char *what, venseg_status st)
{
    fprintf(stderr, "soak: %s: %s: %s\n", what, venseg_status_name(st), venseg_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    const char *model_path = VENSEG_SOURCE_DIR "/tests/data/tiny_plain_unet.vseg";
    long frames = 10000, sample = 100, reset_every = 0, warmup = -1;
    int w = 128, h = 128, threads = 0;
    venseg_backend backend = VENSEG_BACKEND_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const int more = i + 1 < argc;
        if (!strcmp(a, "--model") && more) model_path = argv[++i];
        else if (!strcmp(a, "--frames") && more) frames = atol(argv[++i]);
        else if (!strcmp(a, "--sample") && more) sample = atol(argv[++i]);
        else if (!strcmp(a, "--reset-every") && more) reset_every = atol(argv[++i]);
        else if (!strcmp(a, "--warmup") && more) warmup = atol(argv[++i]);
        else if (!strcmp(a, "--threads") && more) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--size") && i + 2 < argc) w = atoi(argv[++i]), h = atoi(argv[++i]);
        else if (!strcmp(a, "--backend") && more) {
            const char *b = argv[++i];
            backend = !strcmp(b, "reference") ? VENSEG_BACKEND_REFERENCE
                      : !strcmp(b, "onednn")  ? VENSEG_BACKEND_ONEDNN
                                              : VENSEG_BACKEND_AUTO;
        } else {
            fprintf(stderr, "usage: soak [--model PATH] [--frames N] [--sample N] [--size W H] [--reset-every K]\n"
                            "            [--backend auto|reference|onednn] [--threads T] [--warmup N]\n");
            return 2;
        }
    }
    if (frames < 1 || sample < 1 || w < 16 || h < 16) return fail("arguments", VENSEG_E_INVALID_ARGUMENT);
    if (warmup < 0) warmup = frames / 10;
    const long rss_start = rss_kib();
    const double t0 = now_s();

    venseg_status st;
    venseg_model *m = NULL;
    venseg_options *o = NULL;
    venseg_session *s = NULL;
    venseg_tracker_config *tc = NULL;
    venseg_tracker *t = NULL;
    venseg_phantom_config *pc = NULL;
    venseg_phantom *ph = NULL;
    if ((st = venseg_model_load_file(model_path, &m))) return fail(model_path, st);
    if ((st = venseg_options_create(&o)) || (st = venseg_options_set(o, VENSEG_OPT_BACKEND, backend)) ||
        (st = venseg_options_set(o, VENSEG_OPT_NUM_THREADS, threads)) || (st = venseg_session_create(m, o, &s)))
        return fail("session", st);
    if ((st = venseg_phantom_config_create(&pc)) || (st = venseg_phantom_config_set(pc, VENSEG_PHANTOM_WIDTH, w)) ||
        (st = venseg_phantom_config_set(pc, VENSEG_PHANTOM_HEIGHT, h)) ||
        (st = venseg_phantom_config_set(pc, VENSEG_PHANTOM_FRAMES, 90)) || (st = venseg_phantom_create(pc, &ph)))
        return fail("phantom", st);
    double spacing = 0;
    venseg_phantom_config_get(pc, VENSEG_PHANTOM_PIXEL_SPACING, &spacing);
    if ((st = venseg_tracker_config_create(&tc)) ||
        (st = venseg_tracker_config_set(tc, VENSEG_TRACKER_PIXEL_SPACING_X, spacing)) ||
        (st = venseg_tracker_config_set(tc, VENSEG_TRACKER_PIXEL_SPACING_Y, spacing)) ||
        (st = venseg_tracker_create(tc, &t)))
        return fail("tracker", st);
    if ((st = venseg_session_set_pixel_spacing(s, spacing, spacing))) return fail("spacing", st);

    /* the 90 phantom frames, rendered once: the soak measures libvenseg, not the phantom */
    uint8_t *px = malloc((size_t)w * h * 90), *mask = malloc((size_t)w * h);
    if (!px || !mask) return fail("buffers", VENSEG_E_OUT_OF_MEMORY);
    for (int i = 0; i < 90; i++)
        if ((st = venseg_phantom_frame(ph, i, px + (size_t)i * w * h, w, NULL, 0))) return fail("phantom frame", st);
    const long rss_ready = rss_kib();

    printf("{\n  \"model\": \"%s\",\n  \"session\": \"%s\",\n  \"frames\": %ld,\n  \"size\": [%d, %d],\n"
           "  \"reset_every\": %ld,\n  \"sample_every\": %ld,\n  \"warmup_frames\": %ld,\n  \"rss_start_kib\": %ld,\n"
           "  \"rss_ready_kib\": %ld,\n  \"samples\": [",
           model_path, venseg_session_describe(s), frames, w, h, reset_every, sample, warmup, rss_start, rss_ready);
    long rss_warm = -1, rss_max_after = 0, rss_end = 0, compressible = 0, sequences = 0;
    for (long i = 0; i < frames; i++) {
        if (reset_every > 0 && i > 0 && i % reset_every == 0) {
            venseg_track_summary sum;
            memset(&sum, 0, sizeof sum);
            sum.struct_size = sizeof sum;
            if ((st = venseg_tracker_summary(t, &sum))) return fail("summary", st);
            compressible += sum.verdict == VENSEG_VERDICT_COMPRESSIBLE;
            sequences++;
            if ((st = venseg_tracker_reset(t))) return fail("reset", st);
        }
        st = venseg_tracker_push_frame(t, s, px + (size_t)(i % 90) * w * h, VENSEG_PIXEL_GRAY8, w, h, w, mask, w);
        if (st) return fail("push_frame", st);
        if ((i + 1) % sample == 0 || i + 1 == frames) {
            const long r = rss_kib();
            printf("%s\n    {\"frame\": %ld, \"rss_kib\": %ld, \"elapsed_s\": %.3f}", i + 1 == sample ? "" : ",", i + 1, r,
                   now_s() - t0);
            fflush(stdout); /* the curve so far is there to read during a long run */
            if (i + 1 >= warmup && rss_warm < 0) rss_warm = r;
            if (i + 1 >= warmup && r > rss_max_after) rss_max_after = r;
            rss_end = r;
        }
    }
    const double elapsed = now_s() - t0;
    venseg_track_summary sum;
    memset(&sum, 0, sizeof sum);
    sum.struct_size = sizeof sum;
    venseg_tracker_summary(t, &sum);
    const long growth = rss_end - rss_warm;
    printf("\n  ],\n  \"rss_after_warmup_kib\": %ld,\n  \"rss_end_kib\": %ld,\n  \"rss_max_after_warmup_kib\": %ld,\n"
           "  \"growth_after_warmup_kib\": %ld,\n  \"growth_per_1000_frames_kib\": %.2f,\n"
           "  \"last_sequence_frames_analysed\": %d,\n  \"sequences_reset\": %ld,\n  \"compressible_verdicts\": %ld,\n"
           "  \"frames_per_s\": %.1f,\n  \"elapsed_s\": %.2f\n}\n",
           rss_warm, rss_end, rss_max_after, growth, frames > warmup ? growth * 1000.0 / (double)(frames - warmup) : 0.0,
           sum.frames_analysed, sequences, compressible, frames / elapsed, elapsed);
    free(px);
    free(mask);
    venseg_phantom_free(ph);
    venseg_phantom_config_free(pc);
    venseg_tracker_free(t);
    venseg_tracker_config_free(tc);
    venseg_session_free(s);
    venseg_options_free(o);
    venseg_model_free(m);
    return 0;
}
