/* phantom_cmd.c: `venseg phantom`: write a synthetic compression clip (see the help). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <venseg/venseg.h>

#include "commands.h"
#include "util/cli_util.h"
#include "util/options.h"
#include "util/media.h"
#include "util/png_io.h"

static const char phantom_help[] =
    "usage: venseg phantom [options] OUT\n"
    "\n"
    "Writes a synthetic B-mode compression clip of a transverse leg (libvenseg's seeded\n"
    "phantom, docs/tracking.md): the probe presses, the vein collapses (normal) or does\n"
    "not (thrombosed), the artery flattens a little. OUT by its ending:\n"
    "  OUT.gif              animated GIF (grey)\n"
    "  OUT.mp4 (.avi, ...)  video through FFmpeg\n"
    "  anything else        a folder of PNG frames frame-0000.png ... with the ground\n"
    "                       truth frame-0000_label.png (1 artery, 2 vein)\n"
    "Prints the true compressibility. Analyse the clip with venseg analyze (the\n"
    "phantom's pixel spacing is --spacing 0.15 unless changed).\n"
    "\n"
    "  --thrombus none|partial|full  the vein (default none: normal, collapses fully)\n"
    "  --frames N         frame count (default 60)\n"
    "  --size WxH         frame size (default 256x256)\n"
    "  --fps HZ           frame rate (default 30)\n"
    "  --seed S           random seed (default 1)\n"
    "  --compression P    peak probe pressure, 1 = enough to collapse a normal vein (default 1)\n"
    "  --probe-motion MM  lateral probe slide over the clip (default 0)\n"
    "  --noise X          electronic noise 0..1 (default 0.05)\n"
    "  --spacing MM       pixel size in mm (default 0.15)\n"
    "An exam that moves like one (docs/phantom.md; all off by default):\n"
    "  --baseline S       seconds at rest before the probe presses (default: 20 % of the clip)\n"
    "  --heart-rate BPM   artery pulse rate, 0 = none (default 72)\n"
    "  --pulse-amplitude F  artery diameter change per beat (default 0.06)\n"
    "  --respiration F    vein area change with breathing, peak to peak (default 0)\n"
    "  --respiratory-rate BPM  breaths per minute (default 15)\n"
    "  --vein-side seeded|left|right  the vein's side of the artery in the image\n"
    "  --vein-to-artery R vein/artery diameter ratio, 0.5..3 (default: seeded)\n"
    "  --thrombus-age acute|chronic  faint soft thrombus or a bright organised one\n"
    "  --probe-tilt DEG   peak probe tilt mid-clip (default 0)\n"
    "  --out-of-plane     the vein leaves the plane for a while after the release\n"
    "  --decorrelation D  share of the speckle renewed each frame, 0..1 (default 0)\n"
    "  --attenuation DB   tissue attenuation in dB/mm (default 0.75)\n"
    "  -q, --quiet        print nothing but errors\n"
    "  -h, --help         this help\n"
    "\n" VS_EXIT_HELP;

int vs_cmd_phantom(int argc, char **argv)
{
    const char *out = NULL;
    double v;
    long lv;
    int quiet = 0;
    struct {
        venseg_phantom_key key;
        double value;
        int set;
    } keys[] = {{VENSEG_PHANTOM_THROMBUS, 0, 0},   {VENSEG_PHANTOM_FRAMES, 60, 1},        {VENSEG_PHANTOM_WIDTH, 256, 0},
                {VENSEG_PHANTOM_HEIGHT, 256, 0},   {VENSEG_PHANTOM_FRAME_RATE, 30, 0},    {VENSEG_PHANTOM_SEED, 1, 0},
                {VENSEG_PHANTOM_COMPRESSION, 1, 0}, {VENSEG_PHANTOM_PROBE_MOTION, 0, 0}, {VENSEG_PHANTOM_NOISE, 0, 0},
                {VENSEG_PHANTOM_PIXEL_SPACING, 0, 0}, {VENSEG_PHANTOM_BASELINE_S, 0, 0}, {VENSEG_PHANTOM_HEART_RATE, 0, 0},
                {VENSEG_PHANTOM_PULSE_AMPLITUDE, 0, 0}, {VENSEG_PHANTOM_RESPIRATION, 0, 0},
                {VENSEG_PHANTOM_RESPIRATORY_RATE, 0, 0}, {VENSEG_PHANTOM_VEIN_SIDE, 0, 0},
                {VENSEG_PHANTOM_VEIN_TO_ARTERY, 0, 0}, {VENSEG_PHANTOM_THROMBUS_AGE, 0, 0},
                {VENSEG_PHANTOM_PROBE_TILT, 0, 0}, {VENSEG_PHANTOM_OUT_OF_PLANE, 0, 0},
                {VENSEG_PHANTOM_DECORRELATION, 0, 0}, {VENSEG_PHANTOM_ATTENUATION, 0, 0}};
    enum { K_THROMBUS, K_FRAMES, K_W, K_H, K_FPS, K_SEED, K_COMP, K_MOTION, K_NOISE, K_SPACING, K_BASELINE, K_HR,
           K_PULSE, K_RESP, K_RESP_RATE, K_SIDE, K_RATIO, K_AGE, K_TILT, K_OOP, K_DECOR, K_ATTEN, K_N };
    static const char *const thrombus_names[] = {"none", "partial", "full"};
    static const char *const side_names[] = {"seeded", "left", "right"};
    static const char *const age_names[] = {"acute", "chronic"};
    static const struct {
        const char *name;
        int key;
        const char *const *choices; /* named values (index = value), or NULL: a number */
        int n_choices;
    } numeric[] = {{"--frames", K_FRAMES, NULL, 0},
                   {"--fps", K_FPS, NULL, 0},
                   {"--seed", K_SEED, NULL, 0},
                   {"--compression", K_COMP, NULL, 0},
                   {"--probe-motion", K_MOTION, NULL, 0},
                   {"--noise", K_NOISE, NULL, 0},
                   {"--spacing", K_SPACING, NULL, 0},
                   {"--baseline", K_BASELINE, NULL, 0},
                   {"--heart-rate", K_HR, NULL, 0},
                   {"--pulse-amplitude", K_PULSE, NULL, 0},
                   {"--respiration", K_RESP, NULL, 0},
                   {"--respiratory-rate", K_RESP_RATE, NULL, 0},
                   {"--vein-side", K_SIDE, side_names, 3},
                   {"--vein-to-artery", K_RATIO, NULL, 0},
                   {"--thrombus-age", K_AGE, age_names, 2},
                   {"--probe-tilt", K_TILT, NULL, 0},
                   {"--decorrelation", K_DECOR, NULL, 0},
                   {"--attenuation", K_ATTEN, NULL, 0}};
    vs_common_opts c;
    int status;
    vs_common_opts_init(&c, NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
        int shared = vs_common_option("phantom", phantom_help, VS_OPT_QUIET, argc, argv, &i, &c, &status), k = -1;
        if (shared < 0) return status;
        if (shared) continue;
        if (vs_is_option(a, "--thrombus") && (val = vs_option_value(argc, argv, &i))) {
            keys[K_THROMBUS].value = vs_parse_choice(val, thrombus_names, 3);
            if (keys[K_THROMBUS].value < 0) return vs_usage_error("phantom", "--thrombus must be none, partial or full, not ", val);
            keys[K_THROMBUS].set = 1;
            continue;
        }
        if (vs_is_option(a, "--out-of-plane")) {
            keys[K_OOP].value = 1, keys[K_OOP].set = 1;
            continue;
        }
        if (vs_is_option(a, "--size") && (val = vs_option_value(argc, argv, &i))) {
            int w, h;
            char tail;
            if (sscanf(val, "%dx%d%c", &w, &h, &tail) != 2) return vs_usage_error("phantom", "--size must be WxH, not ", val);
            keys[K_W].value = w, keys[K_H].value = h, keys[K_W].set = keys[K_H].set = 1;
            continue;
        }
        size_t m = 0;
        for (; m < sizeof numeric / sizeof numeric[0] && k < 0; m++)
            if (vs_is_option(a, numeric[m].name)) k = numeric[m].key;
        if (k < 0 || !(val = vs_option_value(argc, argv, &i))) {
            if (a[0] == '-' && a[1]) return vs_usage_error("phantom", "unknown or incomplete option ", a);
            if (out) return vs_usage_error("phantom", "one OUT only; extra argument ", a);
            out = a;
            continue;
        }
        if (numeric[m - 1].choices) {
            int c = vs_parse_choice(val, numeric[m - 1].choices, numeric[m - 1].n_choices);
            if (c < 0) {
                char msg[64];
                snprintf(msg, sizeof msg, "%s: unknown value ", numeric[m - 1].name);
                return vs_usage_error("phantom", msg, val);
            }
            v = c;
        } else if (k == K_FRAMES || k == K_SEED) {
            if (!vs_parse_long(val, 0, 1L << 40, &lv)) return vs_usage_error("phantom", "expected an integer, not ", val);
            v = (double)lv;
        } else if (!vs_parse_double(val, -1e9, 1e9, &v)) {
            return vs_usage_error("phantom", "expected a number, not ", val);
        }
        keys[k].value = v, keys[k].set = 1;
    }
    quiet = c.quiet;
    if (!out) return vs_usage_error("phantom", "no OUT given", NULL);

    venseg_phantom_config *cfg = NULL;
    venseg_phantom *ph = NULL;
    venseg_status st = venseg_phantom_config_create(&cfg);
    for (int k = 0; !st && k < K_N; k++)
        if (keys[k].set && (st = venseg_phantom_config_set(cfg, keys[k].key, keys[k].value))) {
            double lo = 0, hi = 0;
            char why[512]; /* copied: the bounds call clears the library's error */
            snprintf(why, sizeof why, "%s", venseg_last_error());
            venseg_phantom_config_bounds(keys[k].key, &lo, &hi, NULL);
            fprintf(stderr, "venseg phantom: value %g out of range %g..%g (%s)\n", keys[k].value, lo, hi, why);
            venseg_phantom_config_free(cfg);
            return VS_EXIT_USAGE;
        }
    if (!st) st = venseg_phantom_create(cfg, &ph);
    double dw = 0, dh = 0, dn = 0, fps = 0, spacing = 0;
    venseg_phantom_config_get(cfg, VENSEG_PHANTOM_WIDTH, &dw);
    venseg_phantom_config_get(cfg, VENSEG_PHANTOM_HEIGHT, &dh);
    venseg_phantom_config_get(cfg, VENSEG_PHANTOM_FRAMES, &dn);
    venseg_phantom_config_get(cfg, VENSEG_PHANTOM_FRAME_RATE, &fps);
    venseg_phantom_config_get(cfg, VENSEG_PHANTOM_PIXEL_SPACING, &spacing);
    venseg_phantom_config_free(cfg);
    if (st) {
        fprintf(stderr, "venseg phantom: %s: %s\n", venseg_status_name(st), venseg_last_error());
        return VS_EXIT_ERROR;
    }
    int32_t w = (int32_t)dw, h = (int32_t)dh, n = (int32_t)dn;
    size_t px = (size_t)w * h;
    uint8_t *grey = malloc(px), *labels = malloc(px), *rgb = malloc(px * 3), palette[768];
    char err[1024], path[4096];
    int rc = VS_EXIT_ERROR, kind = vs_has_ext(out, ".gif") ? 1 : (strchr(strrchr(out, '/') ? strrchr(out, '/') : out, '.') ? 2 : 0);
    vs_gif_writer *g = NULL;
    vs_mp4_writer *m = NULL;
    if (!grey || !labels || !rgb) goto out;
    for (int i = 0; i < 256; i++) palette[3 * i] = palette[3 * i + 1] = palette[3 * i + 2] = (uint8_t)i;
    if (kind == 1 && vs_gif_open(out, w, h, palette, &g, err, sizeof err) != 0) goto fail;
    if (kind == 2 && vs_mp4_open(out, w, h, fps, &m, NULL, err, sizeof err) != 0) goto fail;
    if (kind == 0 && vs_mkdirs(out, err, sizeof err) != 0) goto fail;
    for (int32_t i = 0; i < n; i++) {
        if ((st = venseg_phantom_frame(ph, i, grey, w, labels, w))) {
            snprintf(err, sizeof err, "%s: %s", venseg_status_name(st), venseg_last_error());
            goto fail;
        }
        int r = 0;
        if (kind == 1) {
            r = vs_gif_add(g, grey, (int)lround(100 / fps), err, sizeof err);
        } else if (kind == 2) {
            for (size_t k = 0; k < px; k++) rgb[3 * k] = rgb[3 * k + 1] = rgb[3 * k + 2] = grey[k];
            r = vs_mp4_add(m, rgb, err, sizeof err);
        } else {
            snprintf(path, sizeof path, "%s/frame-%04d.png", out, i);
            r = vs_png_write_gray(path, grey, w, h, w, err, sizeof err);
            snprintf(path, sizeof path, "%s/frame-%04d_label.png", out, i);
            if (!r) r = vs_png_write_gray(path, labels, w, h, w, err, sizeof err);
        }
        if (r) goto fail;
    }
    if (g && vs_gif_close(g, err, sizeof err) != 0) {
        g = NULL;
        goto fail;
    }
    g = NULL;
    if (m && vs_mp4_close(m, err, sizeof err) != 0) {
        m = NULL;
        goto fail;
    }
    m = NULL;
    venseg_phantom_truth t = {.struct_size = sizeof t};
    venseg_phantom_truth_at(ph, 0, &t);
    if (!quiet)
        printf("%s: %d frames %dx%d at %g frames/s, pixel spacing %g mm, vein %s; true compressibility %.1f %%\n",
               out, n, w, h, fps, spacing, t.thrombus == 0 ? "normal" : t.thrombus == 1 ? "partly thrombosed" : "thrombosed",
               t.true_compressibility_percent);
    rc = VS_EXIT_OK;
    goto out;
fail:
    fprintf(stderr, "venseg phantom: %s: %s\n", out, err);
    rc = strstr(err, "built without") ? VS_EXIT_UNAVAILABLE : VS_EXIT_ERROR;
out:
    vs_gif_close(g, NULL, 0);
    vs_mp4_close(m, NULL, 0);
    free(grey), free(labels), free(rgb);
    venseg_phantom_free(ph);
    return rc;
}
