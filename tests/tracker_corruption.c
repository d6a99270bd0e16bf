/* The corrupted-ground-truth study of the tracker: sequences, corruptions, one run, tallies.
 * See tracker_corruption.h and docs/tracking.md ("Study: corrupted ground-truth masks"). */
#include "tracker_corruption.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash_rng.h" /* the phantom's seeded randomness (header-only) */

/* ------------------------------------------------------------------- names */

static const char *const family_names[TC_FAMILY_COUNT] = {"clean",         "swap_all", "swap_30pct",
                                                          "vein_missed_30pct", "merged", "spurious_blobs"};
static const char *const kind_names[TC_KIND_COUNT] = {"normal", "partial", "thrombosed"};

const char *tc_family_name(int family)
{
    return family >= 0 && family < TC_FAMILY_COUNT ? family_names[family] : "unknown";
}

const char *tc_kind_name(int kind) { return kind >= 0 && kind < TC_KIND_COUNT ? kind_names[kind] : "unknown"; }

int tc_family_from_name(const char *name)
{
    for (int i = 0; name && i < TC_FAMILY_COUNT; i++)
        if (!strcmp(name, family_names[i])) return i;
    return -1;
}

int tc_truth_verdict(double c)
{
    if (!(c == c)) return VENSEG_VERDICT_INDETERMINATE;
    if (c >= 90.0) return VENSEG_VERDICT_COMPRESSIBLE;
    if (c >= 25.0) return VENSEG_VERDICT_PARTIALLY_COMPRESSIBLE;
    return VENSEG_VERDICT_NON_COMPRESSIBLE;
}

/* ---------------------------------------------------------------- sequences */

void tc_sequence_params(int64_t number, int width, int height, tc_sequence *s)
{
    memset(s, 0, sizeof *s);
    vs_rng r = {vs_hash4(0x7c0ffee5eedull, (uint64_t)number, 1, 0)};
    s->number = number;
    s->kind = (int)(((number % 3) + 3) % 3);
    s->phantom_seed = 100000.0 + (double)number;
    s->width = width > 0 ? width : 256;
    s->height = height > 0 ? height : 256;
    s->frames = 180 + (int)vs_rng_uniform(&r, 0, 61); /* 180..240 */
    s->frame_rate = 30;
    s->spacing_mm = 0.15;
    s->baseline_s = vs_rng_uniform(&r, 2.5, 3.0);
    s->heart_rate_bpm = vs_rng_uniform(&r, 50, 110);
    s->pulse_amplitude = vs_rng_uniform(&r, 0.03, 0.10);
    s->respiration = vs_rng_uniform(&r, 0, 0.15);
    s->respiratory_rate = vs_rng_uniform(&r, 10, 20);
    s->vein_side_key = vs_rng_uniform(&r, 0, 1) < 0.5 ? 1 : 2;
    s->vein_to_artery = vs_rng_uniform(&r, 0.8, 1.8);
    s->probe_motion_mm = vs_rng_uniform(&r, 0, 1.0);
    s->thrombus = s->kind == TC_NORMAL ? VENSEG_THROMBUS_NONE
                  : s->kind == TC_PARTIAL ? VENSEG_THROMBUS_PARTIAL
                                          : VENSEG_THROMBUS_FULL;
    double age = vs_rng_uniform(&r, 0, 1);
    s->thrombus_age = s->kind == TC_THROMBOSED && age < 0.5 ? 1 : 0;
    s->bridge_px = 3 + (int)vs_rng_uniform(&r, 0, 3); /* 3..5 */
    s->vein_side = 0;
    s->true_compressibility = NAN;
    s->truth_verdict = VENSEG_VERDICT_INDETERMINATE;
}

static void put_err(char *err, size_t n, const char *what)
{
    if (err && n) snprintf(err, n, "%s: %s", what, venseg_last_error());
}

venseg_status tc_sequence_load(tc_sequence *s, char *err, size_t err_size)
{
    venseg_phantom_config *c = NULL;
    venseg_status st = venseg_phantom_config_create(&c);
    if (st) {
        put_err(err, err_size, "venseg_phantom_config_create");
        return st;
    }
    const struct {
        venseg_phantom_key key;
        double value;
        int optional; /* keys of phantom 0.2.0: an older phantom refuses them */
    } keys[] = {
        {VENSEG_PHANTOM_SEED, s->phantom_seed, 0},
        {VENSEG_PHANTOM_WIDTH, s->width, 0},
        {VENSEG_PHANTOM_HEIGHT, s->height, 0},
        {VENSEG_PHANTOM_FRAMES, s->frames, 0},
        {VENSEG_PHANTOM_FRAME_RATE, s->frame_rate, 0},
        {VENSEG_PHANTOM_PIXEL_SPACING, s->spacing_mm, 0},
        {VENSEG_PHANTOM_HEART_RATE, s->heart_rate_bpm, 0},
        {VENSEG_PHANTOM_THROMBUS, s->thrombus, 0},
        {VENSEG_PHANTOM_PROBE_MOTION, s->probe_motion_mm, 0},
        {VENSEG_PHANTOM_BASELINE_S, s->baseline_s, 1},
        {VENSEG_PHANTOM_PULSE_AMPLITUDE, s->pulse_amplitude, 1},
        {VENSEG_PHANTOM_RESPIRATION, s->respiration, 1},
        {VENSEG_PHANTOM_RESPIRATORY_RATE, s->respiratory_rate, 1},
        {VENSEG_PHANTOM_VEIN_SIDE, s->vein_side_key, 1},
        {VENSEG_PHANTOM_VEIN_TO_ARTERY, s->vein_to_artery, 1},
        {VENSEG_PHANTOM_THROMBUS_AGE, s->thrombus_age, 1},
    };
    s->ignored_keys = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        st = venseg_phantom_config_set(c, keys[i].key, keys[i].value);
        if (st && keys[i].optional) {
            s->ignored_keys |= 1u << keys[i].key;
            st = VENSEG_OK;
        }
        if (st) {
            put_err(err, err_size, "venseg_phantom_config_set");
            venseg_phantom_config_free(c);
            return st;
        }
    }
    st = venseg_phantom_create(c, &s->phantom);
    venseg_phantom_config_free(c);
    if (st) {
        put_err(err, err_size, "venseg_phantom_create");
        return st;
    }
    const size_t plane = (size_t)s->width * s->height;
    s->labels = malloc(plane * (size_t)s->frames);
    if (!s->labels) {
        if (err && err_size) snprintf(err, err_size, "out of memory for %d frames", s->frames);
        tc_sequence_free(s);
        return VENSEG_E_OUT_OF_MEMORY;
    }
    for (int i = 0; i < s->frames; i++) {
        st = venseg_phantom_frame(s->phantom, i, NULL, 0, s->labels + plane * (size_t)i, s->width);
        if (st) {
            put_err(err, err_size, "venseg_phantom_frame");
            tc_sequence_free(s);
            return st;
        }
    }
    venseg_phantom_truth t;
    memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    st = venseg_phantom_truth_at(s->phantom, 0, &t);
    if (st) {
        put_err(err, err_size, "venseg_phantom_truth_at");
        tc_sequence_free(s);
        return st;
    }
    s->true_compressibility = t.true_compressibility_percent;
    s->truth_verdict = tc_truth_verdict(t.true_compressibility_percent);
    s->vein_side = t.vein_side;
    s->vein_side_from_labels = 0;
    if (s->vein_side == 0) { /* a phantom without truth.vein_side: the centroids of frame 0 */
        double sx[3] = {0, 0, 0}, n[3] = {0, 0, 0};
        for (int y = 0; y < s->height; y++)
            for (int x = 0; x < s->width; x++) {
                int l = s->labels[(size_t)y * s->width + x];
                if (l == 1 || l == 2) {
                    sx[l] += x;
                    n[l] += 1;
                }
            }
        if (n[1] > 0 && n[2] > 0) {
            s->vein_side = sx[2] / n[2] < sx[1] / n[1] ? -1 : 1;
            s->vein_side_from_labels = 1;
        }
    }
    return VENSEG_OK;
}

void tc_sequence_free(tc_sequence *s)
{
    if (!s) return;
    venseg_phantom_free(s->phantom);
    s->phantom = NULL;
    free(s->labels);
    s->labels = NULL;
}

/* --------------------------------------------------------------- corruption */

enum { SPURIOUS_MAX_LIFE = 8, SPURIOUS_MARGIN = 3 };

/* A uniform draw for (sequence, family, frame, what). */
static double draw(const tc_sequence *s, int family, int frame, uint64_t what)
{
    return vs_unit(vs_hash4((uint64_t)s->number ^ 0x5eed5eed00000000ull, (uint64_t)family, (uint64_t)frame, what));
}

static void swap_labels(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == 1) p[i] = 2;
        else if (p[i] == 2) p[i] = 1;
}

/* The bridge: a band bridge_px wide along the segment between the two centroids; then every
 * vessel pixel (artery, vein, bridge) gets the vein label. Without both vessels in the frame
 * there is nothing to bridge, and the vessels present are still labelled vein. */
static void merge_vessels(const tc_sequence *s, uint8_t *p)
{
    const int w = s->width, h = s->height;
    double sx[3] = {0, 0, 0}, sy[3] = {0, 0, 0}, n[3] = {0, 0, 0};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int l = p[(size_t)y * w + x];
            if (l == 1 || l == 2) {
                sx[l] += x;
                sy[l] += y;
                n[l] += 1;
            }
        }
    if (n[1] > 0 && n[2] > 0) {
        const double ax = sx[1] / n[1], ay = sy[1] / n[1], vx = sx[2] / n[2], vy = sy[2] / n[2];
        const double dx = vx - ax, dy = vy - ay, len2 = dx * dx + dy * dy, half = 0.5 * s->bridge_px;
        int x0 = (int)floor(fmin(ax, vx) - half - 1), x1 = (int)ceil(fmax(ax, vx) + half + 1);
        int y0 = (int)floor(fmin(ay, vy) - half - 1), y1 = (int)ceil(fmax(ay, vy) + half + 1);
        if (x0 < 0) x0 = 0;
        if (y0 < 0) y0 = 0;
        if (x1 > w - 1) x1 = w - 1;
        if (y1 > h - 1) y1 = h - 1;
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++) {
                double t = len2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / len2 : 0;
                t = t < 0 ? 0 : t > 1 ? 1 : t;
                double ex = ax + t * dx - x, ey = ay + t * dy - y;
                if (ex * ex + ey * ey <= half * half) p[(size_t)y * w + x] = 2;
            }
    }
    for (size_t i = 0, m = (size_t)w * h; i < m; i++)
        if (p[i] == 1) p[i] = 2;
}

/* Spurious blobs: blob events start at each frame (0, 1 or 2 of them, equally likely);
 * three quarters last one frame, the others 3..8 frames, in place. Each is an ellipse with
 * semi-axes 2..6 px at a random angle and place, labelled artery or vein (even odds). A
 * blob that would come within SPURIOUS_MARGIN px of a true vessel in a frame is left out
 * of that frame (it would change the vessel's area, not add a false vessel). */
static void add_blobs(const tc_sequence *s, int frame, const uint8_t *truth, uint8_t *p)
{
    const int w = s->width, h = s->height;
    for (int start = frame - SPURIOUS_MAX_LIFE + 1; start <= frame; start++) {
        if (start < 0) continue;
        const int count = (int)(draw(s, TC_SPURIOUS, start, 1) * 3.0);
        for (int k = 0; k < count; k++) {
            const uint64_t base = 16 + (uint64_t)k * 16;
            const double life_u = draw(s, TC_SPURIOUS, start, base + 0);
            const int life = life_u < 0.75 ? 1 : 3 + (int)((life_u - 0.75) / 0.25 * 6.0); /* 3..8 */
            if (start + life <= frame) continue;
            const double cx = 6 + draw(s, TC_SPURIOUS, start, base + 1) * (w - 12);
            const double cy = 6 + draw(s, TC_SPURIOUS, start, base + 2) * (h - 12);
            const double a = 2.0 + 4.0 * draw(s, TC_SPURIOUS, start, base + 3);
            const double b = 2.0 + 4.0 * draw(s, TC_SPURIOUS, start, base + 4);
            const double th = 3.14159265358979 * draw(s, TC_SPURIOUS, start, base + 5);
            const uint8_t label = draw(s, TC_SPURIOUS, start, base + 6) < 0.5 ? 1 : 2;
            const double reach = (a > b ? a : b) + SPURIOUS_MARGIN;
            int x0 = (int)floor(cx - reach), x1 = (int)ceil(cx + reach);
            int y0 = (int)floor(cy - reach), y1 = (int)ceil(cy + reach);
            if (x0 < 0) x0 = 0;
            if (y0 < 0) y0 = 0;
            if (x1 > w - 1) x1 = w - 1;
            if (y1 > h - 1) y1 = h - 1;
            const double ct = cos(th), st = sin(th);
            int clash = 0;
            for (int y = y0; y <= y1 && !clash; y++)
                for (int x = x0; x <= x1; x++) {
                    const uint8_t l = truth[(size_t)y * w + x];
                    if (l != 1 && l != 2) continue;
                    double u = ((x - cx) * ct + (y - cy) * st) / (a + SPURIOUS_MARGIN);
                    double v = (-(x - cx) * st + (y - cy) * ct) / (b + SPURIOUS_MARGIN);
                    if (u * u + v * v <= 1.0) {
                        clash = 1;
                        break;
                    }
                }
            if (clash) continue;
            for (int y = y0; y <= y1; y++)
                for (int x = x0; x <= x1; x++) {
                    double u = ((x - cx) * ct + (y - cy) * st) / a, v = (-(x - cx) * st + (y - cy) * ct) / b;
                    if (u * u + v * v <= 1.0) p[(size_t)y * w + x] = label;
                }
        }
    }
}

void tc_corrupt(const tc_sequence *s, int family, int frame, uint8_t *out)
{
    const size_t plane = (size_t)s->width * s->height;
    const uint8_t *truth = s->labels + plane * (size_t)frame;
    memcpy(out, truth, plane);
    switch (family) {
    case TC_SWAP_ALL: swap_labels(out, plane); break;
    case TC_SWAP_30:
        if (draw(s, family, frame, 0) < 0.3) swap_labels(out, plane);
        break;
    case TC_VEIN_MISSED_30:
        if (draw(s, family, frame, 0) < 0.3)
            for (size_t i = 0; i < plane; i++)
                if (out[i] == 2) out[i] = 0;
        break;
    case TC_MERGED: merge_vessels(s, out); break;
    case TC_SPURIOUS: add_blobs(s, frame, truth, out); break;
    default: break;
    }
}

/* ---------------------------------------------------------------------- run */

static venseg_status run_fail(tc_result *r, venseg_status st, const char *what)
{
    r->status = st;
    snprintf(r->error, sizeof r->error, "%s: %s", what, venseg_last_error());
    return st;
}

venseg_status tc_run(const tc_sequence *s, int family, int medial_known, tc_result *r, tc_inspect_fn inspect,
                     void *ctx)
{
    memset(r, 0, sizeof *r);
    r->number = s->number;
    r->family = family;
    r->kind = s->kind;
    r->medial_known = medial_known;
    r->phantom_seed = s->phantom_seed;
    r->truth_verdict = s->truth_verdict;
    r->true_compressibility = s->true_compressibility;
    r->verdict = VENSEG_VERDICT_INDETERMINATE;
    r->compressibility = r->verdict_confidence = r->identity_confidence = r->abs_error = NAN;
    r->outcome = TC_INDETERMINATE;

    venseg_tracker_config *c = NULL;
    venseg_status st = venseg_tracker_config_create(&c);
    if (st) return run_fail(r, st, "venseg_tracker_config_create");
    const struct {
        venseg_tracker_key key;
        double value;
    } keys[] = {
        {VENSEG_TRACKER_PIXEL_SPACING_X, s->spacing_mm},
        {VENSEG_TRACKER_PIXEL_SPACING_Y, s->spacing_mm},
        {VENSEG_TRACKER_FRAME_RATE, s->frame_rate},
        {VENSEG_TRACKER_MEDIAL_SIDE, medial_known ? (double)s->vein_side : 0.0},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && !st; i++) st = venseg_tracker_config_set(c, keys[i].key, keys[i].value);
    if (!st) st = venseg_tracker_config_set_site(c, VENSEG_SITE_COMMON_FEMORAL);
    if (st) {
        venseg_tracker_config_free(c);
        return run_fail(r, st, "venseg_tracker_config_set");
    }
    venseg_tracker *t = NULL;
    st = venseg_tracker_create(c, &t);
    venseg_tracker_config_free(c);
    if (st) return run_fail(r, st, "venseg_tracker_create");
    uint8_t *buf = malloc((size_t)s->width * s->height);
    if (!buf) {
        venseg_tracker_free(t);
        r->status = VENSEG_E_OUT_OF_MEMORY;
        snprintf(r->error, sizeof r->error, "out of memory");
        return r->status;
    }
    for (int i = 0; i < s->frames && !st; i++) {
        tc_corrupt(s, family, i, buf);
        st = venseg_tracker_push_labels_ex(t, buf, s->width, s->width, s->height, NULL);
    }
    free(buf);
    if (st) {
        run_fail(r, st, "venseg_tracker_push_labels_ex");
        venseg_tracker_free(t);
        return st;
    }
    venseg_track_summary sum;
    memset(&sum, 0, sizeof sum);
    sum.struct_size = sizeof sum;
    sum.verdict_confidence = sum.identity_confidence = NAN;
    st = venseg_tracker_summary_get(t, &sum);
    if (st) {
        run_fail(r, st, "venseg_tracker_summary_get");
        venseg_tracker_free(t);
        return st;
    }
    if (inspect) inspect(t, s, family, ctx);
    venseg_tracker_free(t);

    r->verdict = sum.verdict;
    r->flags = sum.flags;
    r->compressibility = sum.compressibility_percent;
    r->verdict_confidence = sum.verdict_confidence;
    r->identity_confidence = sum.identity_confidence;
    r->medial_side = sum.medial_side;
    r->medial_side_source = sum.medial_side_source;
    if (sum.verdict == VENSEG_VERDICT_INDETERMINATE) {
        r->outcome = TC_INDETERMINATE;
    } else {
        r->outcome = sum.verdict == s->truth_verdict ? TC_RIGHT : TC_WRONG;
        double e = fabs(sum.compressibility_percent - s->true_compressibility);
        r->abs_error = e == e ? e : 100.0; /* NaN counts as a full miss */
    }
    r->wrong_unflagged = r->outcome == TC_WRONG && (sum.flags & ~(uint32_t)TC_INFORMATIONAL_FLAGS) == 0;
    return VENSEG_OK;
}

/* ------------------------------------------------------------------- tallies */

void tc_tally_add(tc_tally *t, const tc_result *r)
{
    t->n++;
    if (r->status) {
        t->errors++;
        t->indeterminate++; /* a failed run gave no verdict */
        return;
    }
    if (r->outcome == TC_RIGHT) t->right++;
    else if (r->outcome == TC_WRONG) t->wrong++;
    else t->indeterminate++;
    t->wrong_unflagged += r->wrong_unflagged;
    if (r->outcome != TC_INDETERMINATE) {
        t->judged++;
        t->sum_abs_error += r->abs_error;
    }
}

void tc_tally_merge(tc_tally *into, const tc_tally *t)
{
    into->n += t->n;
    into->right += t->right;
    into->indeterminate += t->indeterminate;
    into->wrong += t->wrong;
    into->wrong_unflagged += t->wrong_unflagged;
    into->errors += t->errors;
    into->judged += t->judged;
    into->sum_abs_error += t->sum_abs_error;
}

double tc_tally_accuracy(const tc_tally *t) { return t->n ? 100.0 * t->right / t->n : NAN; }

double tc_tally_mean_error(const tc_tally *t) { return t->judged ? t->sum_abs_error / t->judged : NAN; }

int tc_result_failed(const tc_result *r)
{
    return r->status || r->outcome != TC_RIGHT || !(r->abs_error <= TC_TARGET_MEAN_ABS_ERROR);
}

int tc_tally_meets_targets(const tc_tally *t)
{
    const double acc = tc_tally_accuracy(t), err = tc_tally_mean_error(t);
    return t->n > 0 && t->errors == 0 && acc >= TC_TARGET_ACCURACY_PERCENT && err <= TC_TARGET_MEAN_ABS_ERROR &&
           t->wrong_unflagged <= TC_TARGET_WRONG_UNFLAGGED;
}
