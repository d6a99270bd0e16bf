/* Compression-sequence tracker: persistent vessel tracks over label masks, the vein of
 * interest beside the artery, its area curve, compressibility, verdict and quality flags.
 * See docs/tracking.md. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "core/keyvalue.h"
#include "core/regions.h"
#include "runtime/session.h"
#include "tracking/tracker.h"


enum { MAX_CANDIDATES = 64, MAX_TRACKS = 256, TRACK_FORGET = 30, N_TKEYS = 21 };

/* ------------------------------------------------------------------ config */

static const vs_key_spec tracker_specs[] = {
    {VENSEG_TRACKER_PIXEL_SPACING_X, "VENSEG_TRACKER_PIXEL_SPACING_X", 0, 1000, 0, 0},
    {VENSEG_TRACKER_PIXEL_SPACING_Y, "VENSEG_TRACKER_PIXEL_SPACING_Y", 0, 1000, 0, 0},
    {VENSEG_TRACKER_FRAME_RATE, "VENSEG_TRACKER_FRAME_RATE", 0, 100000, 0, 0},
    {VENSEG_TRACKER_FRAME_STRIDE, "VENSEG_TRACKER_FRAME_STRIDE", 1, 1000, 1, 1},
    {VENSEG_TRACKER_ARTERY_LABEL, "VENSEG_TRACKER_ARTERY_LABEL", 1, 255, 1, 1},
    {VENSEG_TRACKER_VEIN_LABEL, "VENSEG_TRACKER_VEIN_LABEL", 1, 255, 2, 1},
    {VENSEG_TRACKER_MIN_AREA_PX, "VENSEG_TRACKER_MIN_AREA_PX", 1, 1e9, 16, 1},
    {VENSEG_TRACKER_SMOOTH_WINDOW, "VENSEG_TRACKER_SMOOTH_WINDOW", 1, 15, 3, 1},
    {VENSEG_TRACKER_COMPRESSIBLE_PERCENT, "VENSEG_TRACKER_COMPRESSIBLE_PERCENT", 0, 100, 90, 0},
    {VENSEG_TRACKER_COMPRESSIBLE_RESIDUAL_MM2, "VENSEG_TRACKER_COMPRESSIBLE_RESIDUAL_MM2", 0, 1000, 0.5, 0},
    {VENSEG_TRACKER_NONCOMPRESSIBLE_PERCENT, "VENSEG_TRACKER_NONCOMPRESSIBLE_PERCENT", 0, 100, 25, 0},
    {VENSEG_TRACKER_MIN_FRAMES, "VENSEG_TRACKER_MIN_FRAMES", 1, 100000, 10, 1},
    {VENSEG_TRACKER_ARTERY_DEFORMATION_PERCENT, "VENSEG_TRACKER_ARTERY_DEFORMATION_PERCENT", 0, 100, 10, 0},
    {VENSEG_TRACKER_MAX_LATERAL_SHIFT, "VENSEG_TRACKER_MAX_LATERAL_SHIFT", 0, 100, 0.75, 0},
    {VENSEG_TRACKER_LOST_FRACTION, "VENSEG_TRACKER_LOST_FRACTION", 0, 1, 0.5, 0},
    {VENSEG_TRACKER_REQUIRE_PRESSURE_EVIDENCE, "VENSEG_TRACKER_REQUIRE_PRESSURE_EVIDENCE", 0, 1, 1, 1},
    {VENSEG_TRACKER_MAX_AREA_FRACTION, "VENSEG_TRACKER_MAX_AREA_FRACTION", 0, 1, 0.25, 0},
    {VENSEG_TRACKER_MEDIAL_SIDE, "VENSEG_TRACKER_MEDIAL_SIDE", -1, 1, 0, 1},
    {VENSEG_TRACKER_MIN_IDENTITY_CONFIDENCE, "VENSEG_TRACKER_MIN_IDENTITY_CONFIDENCE", 0, 1, 0.75, 0},
    {VENSEG_TRACKER_MIN_VERDICT_CONFIDENCE, "VENSEG_TRACKER_MIN_VERDICT_CONFIDENCE", 0, 1, 0.6, 0},
};
static const vs_key_table tracker_keys = {tracker_specs, sizeof tracker_specs / sizeof tracker_specs[0]};

struct venseg_tracker_config {
    double v[N_TKEYS];
    char site[64];
};

venseg_status venseg_tracker_config_create(venseg_tracker_config **out)
{
    void *c = NULL;
    venseg_status st = vs_keys_new("venseg_tracker_config_create", &tracker_keys, sizeof(venseg_tracker_config),
                                   offsetof(venseg_tracker_config, v), out ? &c : NULL);
    if (!st) *out = c;
    return st;
}

void venseg_tracker_config_free(venseg_tracker_config *config) { free(config); }

venseg_status venseg_tracker_config_set(venseg_tracker_config *c, venseg_tracker_key key, double value)
{
    static const char fn[] = "venseg_tracker_config_set";
    venseg_status st = vs_keys_check(fn, &tracker_keys, c, (int)key, value);
    if (st) return st;
    if (key == VENSEG_TRACKER_SMOOTH_WINDOW && ((int)value % 2) == 0)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: VENSEG_TRACKER_SMOOTH_WINDOW = %g must be odd", fn, value);
    c->v[key] = value;
    return VENSEG_OK;
}

venseg_status venseg_tracker_config_get(const venseg_tracker_config *c, venseg_tracker_key key, double *value)
{
    return vs_keys_get("venseg_tracker_config_get", &tracker_keys, c ? c->v : NULL, (int)key, value);
}

venseg_status venseg_tracker_config_bounds(venseg_tracker_key key, double *lower, double *upper, double *fallback)
{
    return vs_keys_bounds("venseg_tracker_config_bounds", &tracker_keys, (int)key, lower, upper, fallback);
}

venseg_status venseg_tracker_config_set_site(venseg_tracker_config *c, const char *site)
{
    vs_clear_error();
    if (!c || !site)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_tracker_config_set_site: %s is NULL", c ? "site" : "config");
    size_t n = strlen(site);
    if (n >= sizeof c->site)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_tracker_config_set_site: %zu bytes, at most %zu", n,
                       sizeof c->site - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)site[i] < 0x20 || (unsigned char)site[i] > 0x7e)
            return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_tracker_config_set_site: byte %zu is not printable ASCII", i);
    memcpy(c->site, site, n + 1);
    return VENSEG_OK;
}

const char *venseg_tracker_config_site(const venseg_tracker_config *c) { return c ? c->site : ""; }

/* ------------------------------------------------------------------ names */

const char *venseg_verdict_name(venseg_verdict v)
{
    switch (v) {
    case VENSEG_VERDICT_INDETERMINATE: return "VENSEG_VERDICT_INDETERMINATE";
    case VENSEG_VERDICT_COMPRESSIBLE: return "VENSEG_VERDICT_COMPRESSIBLE";
    case VENSEG_VERDICT_PARTIALLY_COMPRESSIBLE: return "VENSEG_VERDICT_PARTIALLY_COMPRESSIBLE";
    case VENSEG_VERDICT_NON_COMPRESSIBLE: return "VENSEG_VERDICT_NON_COMPRESSIBLE";
    }
    return "VENSEG_VERDICT_UNKNOWN";
}

const char *venseg_flag_name(uint32_t flag)
{
    switch (flag) {
    case VENSEG_FLAG_NO_VESSEL: return "VENSEG_FLAG_NO_VESSEL";
    case VENSEG_FLAG_NO_VEIN: return "VENSEG_FLAG_NO_VEIN";
    case VENSEG_FLAG_NO_ARTERY: return "VENSEG_FLAG_NO_ARTERY";
    case VENSEG_FLAG_VEIN_LOST: return "VENSEG_FLAG_VEIN_LOST";
    case VENSEG_FLAG_PROBE_MOVED: return "VENSEG_FLAG_PROBE_MOVED";
    case VENSEG_FLAG_ARTERY_NOT_DEFORMED: return "VENSEG_FLAG_ARTERY_NOT_DEFORMED";
    case VENSEG_FLAG_SEQUENCE_TOO_SHORT: return "VENSEG_FLAG_SEQUENCE_TOO_SHORT";
    case VENSEG_FLAG_NO_COMPRESSION: return "VENSEG_FLAG_NO_COMPRESSION";
    case VENSEG_FLAG_NO_RELEASE: return "VENSEG_FLAG_NO_RELEASE";
    case VENSEG_FLAG_SPACING_UNKNOWN: return "VENSEG_FLAG_SPACING_UNKNOWN";
    case VENSEG_FLAG_UNSTABLE: return "VENSEG_FLAG_UNSTABLE";
    }
    return "VENSEG_FLAG_UNKNOWN";
}

/* ----------------------------------------------------------------- tracker */

typedef struct track {
    int id, label;
    double cx, cy;     /* last centroid */
    double diameter;   /* largest equivalent diameter seen, px */
    int last_seen;     /* analysed index */
} track;

typedef struct frame_rec {
    int32_t frame_index;
    int32_t vein_id, artery_id;
    int vein_present, artery_present;
    int64_t vein_area, artery_area;
    double vcx, vcy, acx, acy;
    double vein_diam, artery_diam;
    double artery_aspect; /* sqrt(var_y / var_x) of the artery; NaN when absent */
    int32_t n_instances;
} frame_rec;

typedef struct cand {
    int label;
    int64_t area;
    double sx, sy, sxx, syy;
    int x0, y0, x1, y1;
    int track; /* index into tracks, -1 */
} cand;

struct venseg_tracker {
    venseg_tracker_config cfg;
    int w, h;
    int32_t pushed;
    frame_rec *recs;
    int n_recs, recs_cap;
    vs_regions own;       /* regions of pushed label masks (push_frame reads the session's) */
    int32_t *prev_cand;   /* candidate index of each frame pixel in the previous analysed frame, -1 */
    size_t prev_cap;
    int32_t *comp_cand;   /* region -> candidate index (-1: ignored) */
    size_t comp_cand_cap;
    int prev_track[MAX_CANDIDATES]; /* previous frame: candidate -> track index... as track id */
    int n_prev;
    track tracks[MAX_TRACKS];
    int n_tracks, next_id;
    int vein_id, artery_id;
    venseg_tracked_instance inst[MAX_CANDIDATES];
    int n_inst;
};

const char *vs_tracker_site(const venseg_tracker *t) { return t ? t->cfg.site : ""; }

static void tracker_clear(venseg_tracker *t)
{
    t->pushed = 0;
    t->n_recs = 0;
    t->n_prev = 0;
    t->n_tracks = 0;
    t->next_id = 1;
    t->vein_id = t->artery_id = -1;
    t->n_inst = 0;
    t->w = t->h = 0;
}

venseg_status venseg_tracker_create(const venseg_tracker_config *config, venseg_tracker **out)
{
    vs_clear_error();
    if (!out) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_tracker_create: out is NULL");
    venseg_tracker *t = calloc(1, sizeof *t);
    if (!t) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_tracker_create: out of memory");
    if (config) t->cfg = *config;
    else vs_keys_defaults(&tracker_keys, t->cfg.v); /* calloc zeroed the rest */
    const double sx = t->cfg.v[VENSEG_TRACKER_PIXEL_SPACING_X], sy = t->cfg.v[VENSEG_TRACKER_PIXEL_SPACING_Y];
    const double la = t->cfg.v[VENSEG_TRACKER_ARTERY_LABEL], lv = t->cfg.v[VENSEG_TRACKER_VEIN_LABEL];
    if ((sx > 0) != (sy > 0)) {
        free(t);
        return vs_fail(VENSEG_E_INVALID_ARGUMENT,
                       "venseg_tracker_create: pixel spacing %g x %g mm: both must be > 0, or both 0 (unknown)", sx, sy);
    }
    if (la == lv) {
        free(t);
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_tracker_create: artery and vein labels are both %g", lv);
    }
    tracker_clear(t);
    *out = t;
    return VENSEG_OK;
}

void venseg_tracker_free(venseg_tracker *t)
{
    if (!t) return;
    free(t->recs);
    vs_regions_free(&t->own);
    free(t->prev_cand);
    free(t->comp_cand);
    free(t);
}

venseg_status venseg_tracker_reset(venseg_tracker *t)
{
    vs_clear_error();
    if (!t) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_tracker_reset: tracker is NULL");
    tracker_clear(t);
    return VENSEG_OK;
}

static double spacing_area(const venseg_tracker *t)
{
    double sx = t->cfg.v[VENSEG_TRACKER_PIXEL_SPACING_X], sy = t->cfg.v[VENSEG_TRACKER_PIXEL_SPACING_Y];
    return sx > 0 && sy > 0 ? sx * sy : NAN;
}

/* Frames of one sequence keep one size. */
static venseg_status check_same_size(const venseg_tracker *t, const char *fn, int32_t w, int32_t h)
{
    if (t->w && (w != t->w || h != t->h))
        return vs_fail(VENSEG_E_INVALID_ARGUMENT,
                       "%s: frame %d x %d differs from the sequence's %d x %d (venseg_tracker_reset starts a new one)", fn,
                       w, h, t->w, t->h);
    return VENSEG_OK;
}

/* Buffers for a w x h frame, and one more record. */
static venseg_status reserve(venseg_tracker *t, const char *fn, int w, int h)
{
    const size_t n = (size_t)w * h;
    if (n > t->prev_cap) {
        int32_t *p = realloc(t->prev_cand, n * sizeof *p);
        if (!p) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory for a %d x %d frame", fn, w, h);
        t->prev_cand = p;
        t->prev_cap = n;
    }
    if (t->n_recs == t->recs_cap) {
        int cap = t->recs_cap ? t->recs_cap * 2 : 64;
        frame_rec *r = realloc(t->recs, (size_t)cap * sizeof *r);
        if (!r) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory", fn);
        t->recs = r;
        t->recs_cap = cap;
    }
    return VENSEG_OK;
}

static int by_area_desc(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->area != y->area) return x->area > y->area ? -1 : 1;
    if (x->y0 != y->y0) return x->y0 < y->y0 ? -1 : 1;
    return (x->x0 > y->x0) - (x->x0 < y->x0);
}

static int find_track(const venseg_tracker *t, int id)
{
    for (int i = 0; i < t->n_tracks; i++)
        if (t->tracks[i].id == id) return i;
    return -1;
}

static int new_track(venseg_tracker *t, const cand *c, int analysed)
{
    if (t->n_tracks == MAX_TRACKS) { /* forget the stalest track that is not of interest */
        int worst = -1;
        for (int i = 0; i < t->n_tracks; i++) {
            if (t->tracks[i].id == t->vein_id || t->tracks[i].id == t->artery_id) continue;
            if (worst < 0 || t->tracks[i].last_seen < t->tracks[worst].last_seen) worst = i;
        }
        if (worst < 0) return -1;
        t->tracks[worst] = t->tracks[--t->n_tracks];
    }
    track *k = &t->tracks[t->n_tracks];
    k->id = t->next_id++;
    k->label = c->label;
    k->cx = c->sx / (double)c->area;
    k->cy = c->sy / (double)c->area;
    k->diameter = vs_disc_diameter((double)c->area);
    k->last_seen = analysed;
    return t->n_tracks++;
}

/* Tracks the regions of one analysed w x h frame (they lie inside it, at their origin). */
static venseg_status track_regions(venseg_tracker *t, const char *fn, const vs_regions *rg, int w, int h)
{
    venseg_status st = reserve(t, fn, w, h);
    if (st) return st;
    const int art = (int)t->cfg.v[VENSEG_TRACKER_ARTERY_LABEL], vein = (int)t->cfg.v[VENSEG_TRACKER_VEIN_LABEL];
    const size_t plane = (size_t)w * h;
    const int n_comp = rg->count;
    cand *all = calloc((size_t)(n_comp ? n_comp : 1), sizeof *all);
    if (!all) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory (components)", fn);
    if ((size_t)n_comp > t->comp_cand_cap) {
        int32_t *cc = realloc(t->comp_cand, (size_t)n_comp * sizeof *cc);
        if (!cc) {
            free(all);
            return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory (components)", fn);
        }
        t->comp_cand = cc;
        t->comp_cand_cap = (size_t)n_comp;
    }
    /* the vessel regions in frame coordinates (exact: sums of half-integers) */
    const double ox = rg->ox, oy = rg->oy;
    int n_vessel = 0;
    for (int i = 0; i < n_comp; i++) {
        const vs_region *r = &rg->items[i];
        if (r->label != art && r->label != vein) continue;
        cand *c = &all[n_vessel++];
        const double a = (double)r->area;
        c->label = r->label;
        c->area = r->area;
        c->sx = r->sx + ox * a;
        c->sy = r->sy + oy * a;
        c->sxx = r->sxx + 2.0 * ox * r->sx + ox * ox * a;
        c->syy = r->syy + 2.0 * oy * r->sy + oy * oy * a;
        c->x0 = r->x0 + rg->ox;
        c->y0 = r->y0 + rg->oy;
        c->x1 = r->x1 + rg->ox;
        c->y1 = r->y1 + rg->oy;
        c->track = i; /* remember the region index while sorting */
    }
    /* candidates: plausible sizes, the largest MAX_CANDIDATES */
    const int64_t min_area = (int64_t)t->cfg.v[VENSEG_TRACKER_MIN_AREA_PX];
    const double max_area = t->cfg.v[VENSEG_TRACKER_MAX_AREA_FRACTION] * (double)plane;
    int keep = 0;
    for (int i = 0; i < n_vessel; i++)
        if (all[i].area >= min_area && (double)all[i].area <= max_area) all[keep++] = all[i];
    if (keep > 1) qsort(all, (size_t)keep, sizeof *all, by_area_desc);
    if (keep > MAX_CANDIDATES) keep = MAX_CANDIDATES;
    for (int i = 0; i < n_comp; i++) t->comp_cand[i] = -1;
    for (int i = 0; i < keep; i++) t->comp_cand[all[i].track] = i;
    const int analysed = t->n_recs;

    /* overlap with the previous analysed frame's candidates */
    static const int none = -1;
    int assigned_track[MAX_CANDIDATES];
    for (int i = 0; i < keep; i++) assigned_track[i] = none;
    if (analysed > 0 && t->n_prev > 0 && keep > 0) {
        int64_t *ov = calloc((size_t)keep * t->n_prev, sizeof *ov);
        if (!ov) {
            free(all);
            return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory (overlaps)", fn);
        }
        for (int y = 0; y < rg->h; y++)
            for (int x = 0; x < rg->w; x++) {
                const int32_t k = rg->comp[(size_t)y * rg->w + x];
                const int c = k >= 0 ? t->comp_cand[k] : -1;
                const int p = t->prev_cand[(size_t)(y + rg->oy) * w + x + rg->ox];
                if (c >= 0 && p >= 0) ov[(size_t)c * t->n_prev + p]++;
            }
        int prev_used[MAX_CANDIDATES] = {0};
        for (;;) { /* greedy: the largest overlap first */
            int64_t best = 0;
            int bc = -1, bp = -1;
            for (int c = 0; c < keep; c++) {
                if (assigned_track[c] != none) continue;
                for (int p = 0; p < t->n_prev; p++) {
                    if (prev_used[p] || ov[(size_t)c * t->n_prev + p] <= best) continue;
                    int k = find_track(t, t->prev_track[p]);
                    if (k < 0 || t->tracks[k].label != all[c].label) continue;
                    best = ov[(size_t)c * t->n_prev + p];
                    bc = c;
                    bp = p;
                }
            }
            if (bc < 0) break;
            assigned_track[bc] = t->prev_track[bp];
            prev_used[bp] = 1;
        }
        free(ov);
    }
    /* no overlap: the nearest unassigned live track of the label within a diameter */
    for (;;) {
        double best = INFINITY;
        int bc = -1, bk = -1;
        for (int c = 0; c < keep; c++) {
            if (assigned_track[c] != none) continue;
            double cx = all[c].sx / (double)all[c].area, cy = all[c].sy / (double)all[c].area;
            double dc = vs_disc_diameter((double)all[c].area);
            for (int k = 0; k < t->n_tracks; k++) {
                const track *tk = &t->tracks[k];
                if (tk->label != all[c].label || tk->last_seen == analysed) continue;
                int taken = 0;
                for (int o = 0; o < keep; o++) taken |= assigned_track[o] == tk->id;
                if (taken) continue;
                double d = hypot(cx - tk->cx, cy - tk->cy);
                double gate = fmax(tk->diameter, dc);
                if (gate < 5) gate = 5;
                if (d <= gate && d < best) {
                    best = d;
                    bc = c;
                    bk = k;
                }
            }
        }
        if (bc < 0) break;
        assigned_track[bc] = t->tracks[bk].id;
    }
    /* update or create tracks */
    for (int c = 0; c < keep; c++) {
        int k = assigned_track[c] != none ? find_track(t, assigned_track[c]) : -1;
        if (k < 0) {
            k = new_track(t, &all[c], analysed);
            if (k < 0) continue; /* every slot holds a track of interest: cannot happen with 2 of 256 */
            assigned_track[c] = t->tracks[k].id;
        }
        track *tk = &t->tracks[k];
        tk->cx = all[c].sx / (double)all[c].area;
        tk->cy = all[c].sy / (double)all[c].area;
        double d = vs_disc_diameter((double)all[c].area);
        if (d > tk->diameter) tk->diameter = d;
        tk->last_seen = analysed;
    }
    /* forget stale tracks that are not of interest */
    for (int k = 0; k < t->n_tracks;) {
        if (t->tracks[k].id != t->vein_id && t->tracks[k].id != t->artery_id &&
            analysed - t->tracks[k].last_seen > TRACK_FORGET)
            t->tracks[k] = t->tracks[--t->n_tracks];
        else
            k++;
    }
    /* the artery of interest: the largest artery when there is none yet */
    int a_cand = -1, v_cand = -1;
    for (int c = 0; c < keep; c++) {
        if (all[c].label == art && assigned_track[c] == t->artery_id && t->artery_id >= 0) a_cand = c;
        if (all[c].label == vein && assigned_track[c] == t->vein_id && t->vein_id >= 0) v_cand = c;
    }
    if (t->artery_id < 0) {
        for (int c = 0; c < keep && a_cand < 0; c++)
            if (all[c].label == art) a_cand = c; /* sorted by area */
        if (a_cand >= 0) t->artery_id = assigned_track[a_cand];
    }
    /* the vein of interest: the one beside the artery (nearest among the sizeable veins),
     * else the largest vein */
    if (t->vein_id < 0) {
        int64_t largest = 0;
        for (int c = 0; c < keep; c++)
            if (all[c].label == vein && all[c].area > largest) largest = all[c].area;
        double best = INFINITY;
        for (int c = 0; c < keep; c++) {
            if (all[c].label != vein || all[c].area * 4 < largest) continue;
            double d = 0;
            if (a_cand >= 0)
                d = hypot(all[c].sx / all[c].area - all[a_cand].sx / all[a_cand].area,
                          all[c].sy / all[c].area - all[a_cand].sy / all[a_cand].area);
            else
                d = -(double)all[c].area;
            if (d < best) {
                best = d;
                v_cand = c;
            }
        }
        if (v_cand >= 0) t->vein_id = assigned_track[v_cand];
    }
    /* the frame's record and instances */
    const double px_mm2 = spacing_area(t);
    frame_rec *r = &t->recs[t->n_recs];
    memset(r, 0, sizeof *r);
    r->frame_index = t->pushed;
    r->vein_id = t->vein_id;
    r->artery_id = t->artery_id;
    r->vcx = r->vcy = r->acx = r->acy = r->artery_aspect = NAN;
    if (v_cand >= 0) {
        const cand *c = &all[v_cand];
        r->vein_present = 1;
        r->vein_area = c->area;
        r->vcx = c->sx / c->area;
        r->vcy = c->sy / c->area;
        r->vein_diam = vs_disc_diameter((double)c->area);
    }
    if (a_cand >= 0) {
        const cand *c = &all[a_cand];
        double n = (double)c->area, mx = c->sx / n, my = c->sy / n;
        double vx = c->sxx / n - mx * mx + 1.0 / 12, vy = c->syy / n - my * my + 1.0 / 12;
        r->artery_present = 1;
        r->artery_area = c->area;
        r->acx = mx;
        r->acy = my;
        r->artery_diam = vs_disc_diameter(n);
        r->artery_aspect = sqrt(fmax(vy, 1e-12) / fmax(vx, 1e-12));
    }
    r->n_instances = keep;
    t->n_inst = keep;
    for (int c = 0; c < keep; c++) {
        venseg_tracked_instance *o = &t->inst[c];
        memset(o, 0, sizeof *o);
        o->struct_size = sizeof *o;
        o->track_id = assigned_track[c];
        o->label = all[c].label;
        o->role = c == a_cand ? 1 : c == v_cand ? 2 : 0;
        o->area_px = all[c].area;
        o->area_mm2 = (double)all[c].area * px_mm2;
        o->centroid_x = all[c].sx / all[c].area;
        o->centroid_y = all[c].sy / all[c].area;
        o->bbox_x = all[c].x0;
        o->bbox_y = all[c].y0;
        o->bbox_width = all[c].x1 - all[c].x0 + 1;
        o->bbox_height = all[c].y1 - all[c].y0 + 1;
    }
    /* this frame becomes the previous one */
    for (size_t i = 0; i < plane; i++) t->prev_cand[i] = -1;
    for (int y = 0; y < rg->h; y++)
        for (int x = 0; x < rg->w; x++) {
            const int32_t k = rg->comp[(size_t)y * rg->w + x];
            t->prev_cand[(size_t)(y + rg->oy) * w + x + rg->ox] = k >= 0 ? t->comp_cand[k] : -1;
        }
    for (int c = 0; c < keep; c++) t->prev_track[c] = assigned_track[c];
    t->n_prev = keep;
    t->n_recs++;
    free(all);
    return VENSEG_OK;
}

static int analyse_this(const venseg_tracker *t)
{
    int64_t k = (int64_t)t->cfg.v[VENSEG_TRACKER_FRAME_STRIDE];
    return t->pushed % k == 0;
}

/* Counts the pushed frame and tells the caller what became of it. */
static void pushed(venseg_tracker *t, int analysed, venseg_push_result *result)
{
    if (result) {
        venseg_push_result r;
        memset(&r, 0, sizeof r);
        r.struct_size = sizeof r;
        r.analysed = analysed;
        r.frame_index = t->pushed;
        r.analysed_index = analysed ? t->n_recs - 1 : -1;
        r.frames_analysed = t->n_recs;
        vs_struct_copy(result, &r, sizeof r);
    }
    t->pushed++;
}

static venseg_status push_labels(const char *fn, venseg_tracker *t, const uint8_t *labels, int64_t stride, int32_t w,
                                 int32_t h, venseg_push_result *result)
{
    vs_clear_error();
    if (!t || !labels) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: %s is NULL", fn, t ? "labels" : "tracker");
    venseg_status st = vs_check_size(fn, w, h);
    if (!st) st = check_same_size(t, fn, w, h);
    if (!st) st = vs_check_stride(fn, "label_stride", stride, w, h, 1);
    if (!st && result) st = vs_struct_check(fn, result);
    if (st) return st;
    if (t->pushed == INT32_MAX) return vs_fail(VENSEG_E_BAD_STATE, "%s: too many frames", fn);
    const int analyse = analyse_this(t);
    if (analyse) {
        if ((st = vs_regions_find(&t->own, fn, labels, stride, w, h, 0, 0, NULL))) return st;
        if ((st = track_regions(t, fn, &t->own, w, h))) return st;
        t->w = w;
        t->h = h;
    }
    pushed(t, analyse, result);
    return VENSEG_OK;
}

venseg_status venseg_tracker_push_labels_ex(venseg_tracker *t, const uint8_t *labels, int64_t stride, int32_t w,
                                            int32_t h, venseg_push_result *result)
{
    return push_labels("venseg_tracker_push_labels_ex", t, labels, stride, w, h, result);
}

venseg_status venseg_tracker_push_labels(venseg_tracker *t, const uint8_t *labels, int64_t stride, int32_t w, int32_t h)
{
    return push_labels("venseg_tracker_push_labels", t, labels, stride, w, h, NULL);
}

static venseg_status push_frame(const char *fn, venseg_tracker *t, venseg_session *session, const void *pixels,
                                venseg_pixel_format format, int32_t w, int32_t h, int64_t row_stride,
                                uint8_t *label_mask, int64_t mask_stride, venseg_push_result *result)
{
    vs_clear_error();
    if (!t || !session || !pixels)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: %s is NULL", fn, !t ? "tracker" : !session ? "session" : "pixels");
    venseg_status st = vs_check_frame(fn, format, w, h, row_stride, NULL);
    if (!st) st = check_same_size(t, fn, w, h);
    if (!st && label_mask) st = vs_check_stride(fn, "mask_stride", mask_stride, w, h, 1);
    if (!st && result) st = vs_struct_check(fn, result);
    if (st) return st;
    if (t->pushed == INT32_MAX) return vs_fail(VENSEG_E_BAD_STATE, "%s: too many frames", fn);
    if (!analyse_this(t)) {
        pushed(t, 0, result);
        return VENSEG_OK;
    }
    uint8_t *own = NULL, *mask = label_mask;
    int64_t ms = mask_stride;
    if (!mask) {
        own = malloc((size_t)w * h);
        if (!own) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory for a %d x %d mask", fn, w, h);
        mask = own;
        ms = w;
    }
    /* the session labels the frame once; the tracker reads its regions */
    st = venseg_segment(session, pixels, format, w, h, row_stride, mask, ms, NULL, 0);
    if (!st) st = track_regions(t, fn, vs_session_regions(session), w, h);
    free(own);
    if (st) return st; /* venseg_segment / track_regions set the detail */
    t->w = w;
    t->h = h;
    pushed(t, 1, result);
    return VENSEG_OK;
}

venseg_status venseg_tracker_push_frame_ex(venseg_tracker *t, venseg_session *session, const void *pixels,
                                           venseg_pixel_format format, int32_t w, int32_t h, int64_t row_stride,
                                           uint8_t *label_mask, int64_t mask_stride, venseg_push_result *result)
{
    return push_frame("venseg_tracker_push_frame_ex", t, session, pixels, format, w, h, row_stride, label_mask,
                      mask_stride, result);
}

venseg_status venseg_tracker_push_frame(venseg_tracker *t, venseg_session *session, const void *pixels,
                                        venseg_pixel_format format, int32_t w, int32_t h, int64_t row_stride,
                                        uint8_t *label_mask, int64_t mask_stride)
{
    return push_frame("venseg_tracker_push_frame", t, session, pixels, format, w, h, row_stride, label_mask,
                      mask_stride, NULL);
}

/* ----------------------------------------------------------------- results */

static void fill_frame(const venseg_tracker *t, int i, venseg_track_frame *f)
{
    const frame_rec *r = &t->recs[i];
    const double px = spacing_area(t), fps = t->cfg.v[VENSEG_TRACKER_FRAME_RATE];
    memset(f, 0, sizeof *f);
    f->struct_size = sizeof *f;
    f->frame_index = r->frame_index;
    f->analysed_index = i;
    f->time_s = fps > 0 ? r->frame_index / fps : NAN;
    f->vein_track_id = r->vein_id;
    f->artery_track_id = r->artery_id;
    f->vein_present = r->vein_present;
    f->artery_present = r->artery_present;
    f->vein_area_px = r->vein_area;
    f->artery_area_px = r->artery_area;
    f->vein_area_mm2 = (double)r->vein_area * px;
    f->artery_area_mm2 = (double)r->artery_area * px;
    f->vein_centroid_x = r->vcx;
    f->vein_centroid_y = r->vcy;
    f->artery_centroid_x = r->acx;
    f->artery_centroid_y = r->acy;
    f->instance_count = r->n_instances;
}

venseg_status venseg_tracker_frame_count(const venseg_tracker *t, int32_t *count)
{
    return vs_count_out("venseg_tracker_frame_count", t, "tracker", count, t ? t->n_recs : 0);
}

venseg_status venseg_tracker_frame_at(const venseg_tracker *t, int32_t index, venseg_track_frame *out)
{
    const int32_t n = t ? t->n_recs : 0;
    venseg_status st = vs_item_check("venseg_tracker_frame_at", t, "tracker", out, index == -1 ? n - 1 : index, n);
    if (st) return st;
    venseg_track_frame f;
    fill_frame(t, index == -1 ? n - 1 : index, &f);
    vs_struct_copy(out, &f, sizeof f);
    return VENSEG_OK;
}

venseg_status venseg_tracker_instance_count(const venseg_tracker *t, int32_t *count)
{
    return vs_count_out("venseg_tracker_instance_count", t, "tracker", count, t ? t->n_inst : 0);
}

venseg_status venseg_tracker_instance_at(const venseg_tracker *t, int32_t index, venseg_tracked_instance *out)
{
    venseg_status st = vs_item_check("venseg_tracker_instance_at", t, "tracker", out, index, t ? t->n_inst : 0);
    if (!st) vs_struct_copy(out, &t->inst[index], sizeof t->inst[index]);
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Running median of width win (odd) over n values; the window shrinks symmetrically at
 * the ends. NaN inputs are left out; a window of NaNs gives NaN. */
static void running_median(const double *in, int n, int win, double *out)
{
    double buf[16];
    const int half = win / 2;
    for (int i = 0; i < n; i++) {
        int h = half;
        if (i < h) h = i;
        if (n - 1 - i < h) h = n - 1 - i;
        int m = 0;
        for (int j = i - h; j <= i + h; j++)
            if (!isnan(in[j])) buf[m++] = in[j];
        if (!m) {
            out[i] = NAN;
            continue;
        }
        qsort(buf, (size_t)m, sizeof *buf, cmp_double);
        out[i] = m % 2 ? buf[m / 2] : 0.5 * (buf[m / 2 - 1] + buf[m / 2]);
    }
}

static double median_of(double *v, int n)
{
    if (n <= 0) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The vein area curve from its first appearance (NaN before it, 0 where absent after
 * it) and its running median; returns that first analysed index, -1 if none. */
static int vein_curve(const venseg_tracker *t, double *raw, double *smoothed)
{
    const int n = t->n_recs;
    int first = -1;
    for (int i = 0; i < n; i++) {
        if (first < 0 && t->recs[i].vein_present) first = i;
        raw[i] = first >= 0 ? (double)t->recs[i].vein_area : NAN;
    }
    running_median(raw, n, (int)t->cfg.v[VENSEG_TRACKER_SMOOTH_WINDOW], smoothed);
    return first;
}

static venseg_status summarise(const venseg_tracker *t, venseg_track_summary *s)
{
    const venseg_tracker_config *c = &t->cfg;
    const int n = t->n_recs, win = (int)c->v[VENSEG_TRACKER_SMOOTH_WINDOW];
    const double px = spacing_area(t);
    memset(s, 0, sizeof *s);
    s->struct_size = sizeof *s;
    s->verdict = VENSEG_VERDICT_INDETERMINATE;
    s->frames_pushed = t->pushed;
    s->frames_analysed = n;
    s->baseline_frame = s->min_frame = -1;
    s->baseline_area_px = s->min_area_px = NAN;
    s->baseline_area_mm2 = s->min_area_mm2 = NAN;
    s->compressibility_percent = NAN;
    s->artery_deformation_percent = NAN;
    s->max_lateral_shift_px = 0;
    s->vein_track_id = t->vein_id;
    s->artery_track_id = t->artery_id;
    uint32_t flags = 0;
    if (isnan(px)) flags |= VENSEG_FLAG_SPACING_UNKNOWN;
    if (n < (int)c->v[VENSEG_TRACKER_MIN_FRAMES]) flags |= VENSEG_FLAG_SEQUENCE_TOO_SHORT;
    int any_vein = 0, any_artery = 0;
    for (int i = 0; i < n; i++) {
        any_vein |= t->recs[i].vein_present;
        any_artery |= t->recs[i].artery_present;
    }
    if (!any_vein) flags |= VENSEG_FLAG_NO_VEIN;
    if (!any_artery) flags |= VENSEG_FLAG_NO_ARTERY;
    if (!any_vein && !any_artery) flags |= VENSEG_FLAG_NO_VESSEL;
    if (n == 0) {
        s->flags = flags;
        return VENSEG_OK;
    }
    double *raw = calloc((size_t)n * 4, sizeof *raw);
    if (!raw) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_tracker_summary: out of memory");
    double *sm = raw + n, *tmp = raw + 2 * n, *tmp2 = raw + 3 * n;
    const int first = vein_curve(t, raw, sm);
    double baseline = 0, minimum = 0;
    int ib = -1, im = -1;
    if (first >= 0) {
        /* the deepest relative drop from an earlier peak of the smoothed curve */
        double peak = -1, best = -1;
        int ipeak = -1;
        for (int i = first; i < n; i++) {
            if (sm[i] > peak) {
                peak = sm[i];
                ipeak = i;
            }
            double rel = peak > 0 ? (peak - sm[i]) / peak : 0;
            if (rel > best + 1e-12) {
                best = rel;
                ib = ipeak;
                im = i;
            }
        }
        baseline = sm[ib];
        minimum = sm[im];
    }
    if (first >= 0 && baseline > 0) {
        s->baseline_frame = t->recs[ib].frame_index;
        s->min_frame = t->recs[im].frame_index;
        s->baseline_area_px = baseline;
        s->min_area_px = minimum;
        s->baseline_area_mm2 = baseline * px;
        s->min_area_mm2 = minimum * px;
        s->compressibility_percent = (baseline - minimum) / baseline * 100.0;
        /* vein lost: it vanished while still open, for longer than the median hides */
        const double lost = c->v[VENSEG_TRACKER_LOST_FRACTION] * baseline;
        for (int i = first + 1; i < n; i++) {
            if (t->recs[i].vein_present || !t->recs[i - 1].vein_present) continue;
            int j = i;
            while (j < n && !t->recs[j].vein_present) j++;
            int gap = j - i;
            if ((double)t->recs[i - 1].vein_area > lost && (gap > win / 2 || j == n)) flags |= VENSEG_FLAG_VEIN_LOST;
            i = j;
        }
        /* no release: the vein never reopened to half its baseline after the minimum */
        double after = 0;
        for (int i = im; i < n; i++) after = fmax(after, sm[i]);
        if (after < 0.5 * baseline && s->compressibility_percent > 50) flags |= VENSEG_FLAG_NO_RELEASE;
        /* unstable: typical frame-to-frame jumps like noise, not a compression */
        int m = 0;
        for (int i = first + 1; i < n; i++) tmp[m++] = fabs(raw[i] - raw[i - 1]) / baseline;
        if (m >= 4 && median_of(tmp, m) > 0.2) flags |= VENSEG_FLAG_UNSTABLE;
    } else if (first >= 0) {
        flags |= VENSEG_FLAG_NO_VEIN; /* seen too briefly to survive the smoothing */
    }
    /* artery deformation: drop of its height/width ratio from the baseline period */
    if (any_artery) {
        for (int i = 0; i < n; i++) tmp[i] = t->recs[i].artery_present ? t->recs[i].artery_aspect : NAN;
        running_median(tmp, n, win, tmp2);
        int end = ib >= 0 ? ib : 0, m = 0;
        for (int i = 0; i < n && (i <= end || m < 3); i++)
            if (!isnan(tmp2[i])) tmp[m++] = tmp2[i];
        double ref = median_of(tmp, m), low = INFINITY;
        for (int i = 0; i < n; i++)
            if (!isnan(tmp2[i]) && tmp2[i] < low) low = tmp2[i];
        if (ref > 0 && isfinite(low)) s->artery_deformation_percent = fmax(0.0, (ref - low) / ref * 100.0);
        if (!(s->artery_deformation_percent >= c->v[VENSEG_TRACKER_ARTERY_DEFORMATION_PERCENT]))
            flags |= VENSEG_FLAG_ARTERY_NOT_DEFORMED;
    }
    /* probe motion: lateral drift of the reference vessel (the artery, else the vein) */
    {
        int use_artery = any_artery, m = 0, md = 0;
        for (int i = 0; i < n; i++) {
            const frame_rec *r = &t->recs[i];
            int present = use_artery ? r->artery_present : r->vein_present;
            if (!present) continue;
            if (m < 3) {
                tmp[m++] = use_artery ? r->acx : r->vcx;
                tmp2[md++] = use_artery ? r->artery_diam : r->vein_diam;
            }
        }
        if (m > 0) {
            double x0 = median_of(tmp, m), d0 = median_of(tmp2, md), shift = 0;
            for (int i = 0; i < n; i++) {
                const frame_rec *r = &t->recs[i];
                int present = use_artery ? r->artery_present : r->vein_present;
                if (present) shift = fmax(shift, fabs((use_artery ? r->acx : r->vcx) - x0));
            }
            s->max_lateral_shift_px = shift;
            if (shift > c->v[VENSEG_TRACKER_MAX_LATERAL_SHIFT] * d0) flags |= VENSEG_FLAG_PROBE_MOVED;
        }
    }
    free(raw);
    /* verdict */
    const uint32_t unsafe = VENSEG_FLAG_NO_VEIN | VENSEG_FLAG_VEIN_LOST | VENSEG_FLAG_SEQUENCE_TOO_SHORT |
                            VENSEG_FLAG_PROBE_MOVED | VENSEG_FLAG_UNSTABLE;
    const double cp = s->compressibility_percent;
    if (!isnan(cp)) {
        int deformed = any_artery && !(flags & VENSEG_FLAG_ARTERY_NOT_DEFORMED);
        if (cp < c->v[VENSEG_TRACKER_NONCOMPRESSIBLE_PERCENT] && !deformed) flags |= VENSEG_FLAG_NO_COMPRESSION;
        if (!(flags & unsafe)) {
            int residual_ok = !isnan(s->min_area_mm2) && s->min_area_mm2 <= c->v[VENSEG_TRACKER_COMPRESSIBLE_RESIDUAL_MM2] &&
                              cp >= c->v[VENSEG_TRACKER_NONCOMPRESSIBLE_PERCENT];
            if (cp >= c->v[VENSEG_TRACKER_COMPRESSIBLE_PERCENT] || residual_ok)
                s->verdict = VENSEG_VERDICT_COMPRESSIBLE;
            else if (cp >= c->v[VENSEG_TRACKER_NONCOMPRESSIBLE_PERCENT])
                s->verdict = VENSEG_VERDICT_PARTIALLY_COMPRESSIBLE;
            else if (!(flags & VENSEG_FLAG_NO_COMPRESSION) || c->v[VENSEG_TRACKER_REQUIRE_PRESSURE_EVIDENCE] == 0)
                s->verdict = VENSEG_VERDICT_NON_COMPRESSIBLE;
        }
    }
    s->flags = flags;
    return VENSEG_OK;
}

venseg_status venseg_tracker_summary_get(const venseg_tracker *t, venseg_track_summary *out)
{
    venseg_status st = vs_out_check("venseg_tracker_summary_get", t, "tracker", out);
    if (st) return st;
    venseg_track_summary s;
    if ((st = summarise(t, &s))) return st;
    vs_struct_copy(out, &s, sizeof s);
    return VENSEG_OK;
}

venseg_status venseg_tracker_curve(const venseg_tracker *t, venseg_area_unit unit, int32_t capacity, int32_t *count,
                                   int32_t *frame_index, double *vein_area, double *vein_area_smoothed,
                                   double *artery_area)
{
    vs_clear_error();
    static const char fn[] = "venseg_tracker_curve";
    if (!t || !count) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: %s is NULL", fn, t ? "count" : "tracker");
    if (unit != VENSEG_AREA_PX && unit != VENSEG_AREA_MM2)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: unknown unit %d", fn, (int)unit);
    if (capacity < 0) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: capacity %d < 0", fn, capacity);
    const int n = t->n_recs;
    *count = n;
    double scale = 1.0;
    if (unit == VENSEG_AREA_MM2) {
        scale = spacing_area(t);
        if (isnan(scale)) return vs_fail(VENSEG_E_UNDEFINED, "%s: mm2 asked but the pixel spacing is unknown", fn);
    }
    if (n > capacity)
        return vs_fail(VENSEG_E_BUFFER_TOO_SMALL, "%s: %d analysed frames, capacity %d", fn, n, capacity);
    if (n == 0) return VENSEG_OK;
    double *raw = NULL, *sm = NULL;
    if (vein_area_smoothed) { /* the smoothing alone, not the whole summary */
        raw = malloc((size_t)n * 2 * sizeof *raw);
        if (!raw) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory", fn);
        sm = raw + n;
        vein_curve(t, raw, sm);
    }
    for (int i = 0; i < n; i++) {
        const frame_rec *r = &t->recs[i];
        if (frame_index) frame_index[i] = r->frame_index;
        if (vein_area) vein_area[i] = (double)r->vein_area * scale;
        if (artery_area) artery_area[i] = (double)r->artery_area * scale;
        if (sm) vein_area_smoothed[i] = (isnan(sm[i]) ? 0.0 : sm[i]) * scale;
    }
    free(raw);
    return VENSEG_OK;
}

/* ABI 1 names (aliases) */

venseg_status venseg_tracker_frame(const venseg_tracker *t, int32_t index, venseg_track_frame *out)
{
    return venseg_tracker_frame_at(t, index, out);
}

venseg_status venseg_tracker_instance(const venseg_tracker *t, int32_t index, venseg_tracked_instance *out)
{
    return venseg_tracker_instance_at(t, index, out);
}

venseg_status venseg_tracker_summary(const venseg_tracker *t, venseg_track_summary *out)
{
    return venseg_tracker_summary_get(t, out);
}

/* ------------------------------------------------------------ identity (in progress) */

const char *venseg_identity_name(venseg_vessel_identity identity)
{
    switch (identity) {
    case VENSEG_IDENTITY_UNKNOWN: return "VENSEG_IDENTITY_UNKNOWN";
    case VENSEG_IDENTITY_ARTERY: return "VENSEG_IDENTITY_ARTERY";
    case VENSEG_IDENTITY_VEIN: return "VENSEG_IDENTITY_VEIN";
    case VENSEG_IDENTITY_OTHER: return "VENSEG_IDENTITY_OTHER";
    }
    return "VENSEG_IDENTITY_UNKNOWN";
}

venseg_status venseg_tracker_vessel_count(const venseg_tracker *t, int32_t *count)
{
    return vs_count_out("venseg_tracker_vessel_count", t, "tracker", count, 0);
}

venseg_status venseg_tracker_vessel_at(const venseg_tracker *t, int32_t index, venseg_vessel *out)
{
    return vs_item_check("venseg_tracker_vessel_at", t, "tracker", out, index, 0);
}
