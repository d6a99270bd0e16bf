/* Compression-sequence tracker: vessel components (artery and vein labels together),
 * touching vessels split apart, persistent tracks over the analysed frames. Identity,
 * the vein's curve and the verdict are in analysis.c. See docs/tracking.md. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "core/keyvalue.h"
#include "core/regions.h"
#include "runtime/session.h"
#include "tracking/tracker.h"


enum { TRACK_FORGET = 30, VS_MIN_GRID_SIDE = 32 };

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
    {VENSEG_TRACKER_MIN_IDENTITY_CONFIDENCE, "VENSEG_TRACKER_MIN_IDENTITY_CONFIDENCE", 0, 1, 0.85, 0},
    {VENSEG_TRACKER_MIN_VERDICT_CONFIDENCE, "VENSEG_TRACKER_MIN_VERDICT_CONFIDENCE", 0, 1, 0.6, 0},
    {VENSEG_TRACKER_MAX_SIDE, "VENSEG_TRACKER_MAX_SIDE", 0, VS_MAX_FRAME_SIDE, 0, 1},
};
static const vs_key_table tracker_keys = {tracker_specs, sizeof tracker_specs / sizeof tracker_specs[0]};


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
    if (key == VENSEG_TRACKER_MAX_SIDE && value != 0 && value < VS_MIN_GRID_SIDE)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT,
                       "%s: VENSEG_TRACKER_MAX_SIDE = %g: 0 (full resolution) or at least %d px", fn, value,
                       VS_MIN_GRID_SIDE);
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
    case VENSEG_FLAG_IDENTITY_CONFLICT: return "VENSEG_FLAG_IDENTITY_CONFLICT";
    case VENSEG_FLAG_IDENTITY_UNCERTAIN: return "VENSEG_FLAG_IDENTITY_UNCERTAIN";
    case VENSEG_FLAG_LOW_CONFIDENCE: return "VENSEG_FLAG_LOW_CONFIDENCE";
    case VENSEG_FLAG_VESSELS_MERGED: return "VENSEG_FLAG_VESSELS_MERGED";
    case VENSEG_FLAG_VEIN_INTERMITTENT: return "VENSEG_FLAG_VEIN_INTERMITTENT";
    case VENSEG_FLAG_SHRANK_NOT_FLATTENED: return "VENSEG_FLAG_SHRANK_NOT_FLATTENED";
    }
    return "VENSEG_FLAG_UNKNOWN";
}

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

/* ----------------------------------------------------------------- tracker */

const char *vs_tracker_site(const venseg_tracker *t) { return t ? t->cfg.site : ""; }

static void identity_clear(vs_identity *id)
{
    memset(id, 0, sizeof *id);
    id->vein_id = id->artery_id = -1;
    id->confidence = NAN;
}

static void tracker_clear(venseg_tracker *t)
{
    t->pushed = 0;
    t->n_recs = 0;
    t->n_obs = 0;
    t->n_tracks = 0;
    t->next_id = 1;
    t->merged_frames = 0;
    t->onset_run = 0;
    t->n_inst = 0;
    t->w = t->h = 0;
    identity_clear(&t->id);
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
    free(t->obs);
    vs_regions_free(&t->own);
    free(t->cur);
    free(t->prev_map);
    free(t->region_root);
    free(t->grid_labels);
    free(t);
}

venseg_status venseg_tracker_reset(venseg_tracker *t)
{
    vs_clear_error();
    if (!t) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_tracker_reset: tracker is NULL");
    tracker_clear(t);
    return VENSEG_OK;
}

double vs_spacing_area(const venseg_tracker *t)
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

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 1;
    void *q = realloc(*p, need * elem);
    if (!q) return 0;
    *p = q;
    *cap = need;
    return 1;
}

/* Buffers for a w x h grid whose labelled area is rw x rh with n regions, one more
 * record and up to VS_MAX_CANDIDATES more observations. */
static venseg_status reserve(venseg_tracker *t, const char *fn, int w, int h, int rw, int rh, int n)
{
    size_t rc = (size_t)t->recs_cap, oc = (size_t)t->obs_cap;
    int ok = grow((void **)&t->prev_map, &t->prev_cap, (size_t)w * h, sizeof *t->prev_map) &&
             grow((void **)&t->cur, &t->cur_cap, (size_t)rw * rh, sizeof *t->cur) &&
             grow((void **)&t->region_root, &t->region_cap, (size_t)(n ? n : 1), sizeof *t->region_root) &&
             grow((void **)&t->recs, &rc, (size_t)t->n_recs + 1 + (t->n_recs >> 1), sizeof *t->recs) &&
             grow((void **)&t->obs, &oc, (size_t)t->n_obs + VS_MAX_CANDIDATES + (t->n_obs >> 1), sizeof *t->obs);
    t->recs_cap = (int)rc;
    t->obs_cap = (int)oc;
    if (!ok) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory for a %d x %d frame", fn, w, h);
    if (t->n_recs == 0)
        for (size_t i = 0; i < (size_t)w * h; i++) t->prev_map[i] = -1;
    return VENSEG_OK;
}

static int find_track(const venseg_tracker *t, int id)
{
    for (int i = 0; i < t->n_tracks; i++)
        if (t->tracks[i].id == id) return i;
    return -1;
}

static int uf_find(int32_t *p, int i)
{
    while (p[i] != i) i = p[i] = p[p[i]];
    return i;
}

/* A candidate: pixels of the labelled area with cur == its index. */
typedef struct cand {
    int64_t area;
    int x0, y0, x1, y1;      /* labelled-area px */
    double sx, sy, sxx, syy, sxy;
    double vein_mass, artery_mass, prob_sum;
    int track;               /* assigned track id, -1 */
    int keep;
} cand;

/* 8-neighbour offsets */
static const int NB_X[8] = {-1, 0, 1, -1, 1, -1, 0, 1}, NB_Y[8] = {-1, -1, -1, 0, 0, 1, 1, 1};

/* Chamfer (3-4) distance to the nearest pixel outside m, in thirds of a pixel. */
static void chamfer(const uint8_t *m, int bw, int bh, int inside, int32_t *d)
{
    const int32_t big = 1 << 28;
    for (int j = 0; j < bh; j++)
        for (int i = 0; i < bw; i++) d[j * bw + i] = (m[j * bw + i] == inside) ? big : 0;
    for (int j = 0; j < bh; j++)
        for (int i = 0; i < bw; i++) {
            int32_t v = d[j * bw + i];
            if (!v) continue;
            if (i > 0 && d[j * bw + i - 1] + 3 < v) v = d[j * bw + i - 1] + 3;
            if (j > 0) {
                if (d[(j - 1) * bw + i] + 3 < v) v = d[(j - 1) * bw + i] + 3;
                if (i > 0 && d[(j - 1) * bw + i - 1] + 4 < v) v = d[(j - 1) * bw + i - 1] + 4;
                if (i + 1 < bw && d[(j - 1) * bw + i + 1] + 4 < v) v = d[(j - 1) * bw + i + 1] + 4;
            }
            d[j * bw + i] = v;
        }
    for (int j = bh - 1; j >= 0; j--)
        for (int i = bw - 1; i >= 0; i--) {
            int32_t v = d[j * bw + i];
            if (!v) continue;
            if (i + 1 < bw && d[j * bw + i + 1] + 3 < v) v = d[j * bw + i + 1] + 3;
            if (j + 1 < bh) {
                if (d[(j + 1) * bw + i] + 3 < v) v = d[(j + 1) * bw + i] + 3;
                if (i + 1 < bw && d[(j + 1) * bw + i + 1] + 4 < v) v = d[(j + 1) * bw + i + 1] + 4;
                if (i > 0 && d[(j + 1) * bw + i - 1] + 4 < v) v = d[(j + 1) * bw + i - 1] + 4;
            }
            d[j * bw + i] = v;
        }
}

/* Grows the seeds (part index >= 0 in part[], -1 unassigned) through the pixels of m
 * (breadth first, 8-connected): each pixel joins the geodesically nearest seed. */
static void grow_parts(const uint8_t *m, int bw, int bh, int32_t *part, int32_t *queue)
{
    int head = 0, tail = 0;
    for (int k = 0; k < bw * bh; k++)
        if (part[k] >= 0) queue[tail++] = k;
    while (head < tail) {
        int k = queue[head++], i = k % bw, j = k / bw;
        for (int q = 0; q < 8; q++) {
            int x = i + NB_X[q], y = j + NB_Y[q];
            if (x < 0 || y < 0 || x >= bw || y >= bh) continue;
            int n = y * bw + x;
            if (!m[n] || part[n] >= 0) continue;
            part[n] = part[k];
            queue[tail++] = n;
        }
    }
}

/* Splits candidate c at a neck (two vessels drawn as one region): cores are the parts of
 * the distance map above a level that each rise well above it; every pixel joins the
 * nearest core. Returns the number of parts made (1: unchanged). New parts get the
 * candidate indices *n_cand, *n_cand + 1, ... */
static int neck_split(int32_t *cur, int rw, cand *cands, int c, int *n_cand, int min_area)
{
    const cand *k = &cands[c];
    const int bw = k->x1 - k->x0 + 3, bh = k->y1 - k->y0 + 3, n = bw * bh;
    if (k->area < 4 * (int64_t)min_area || *n_cand >= VS_MAX_CANDIDATES * 2 - 4) return 1;
    uint8_t *m = calloc((size_t)n, 2);
    int32_t *d = malloc((size_t)n * 3 * sizeof *d);
    if (!m || !d) {
        free(m), free(d);
        return 1; /* no memory: keep the region whole (a coarser result, not a failure) */
    }
    uint8_t *seen = m + n;
    int32_t *part = d + n, *queue = d + 2 * n;
    for (int j = 1; j < bh - 1; j++)
        for (int i = 1; i < bw - 1; i++) m[j * bw + i] = cur[(size_t)(k->y0 + j - 1) * rw + k->x0 + i - 1] == c;
    chamfer(m, bw, bh, 1, d);
    int32_t dmax = 0;
    for (int i = 0; i < n; i++) dmax = d[i] > dmax ? d[i] : dmax;
    int cores = 0;
    /* levels from 1 px up: the first that leaves >= 2 significant cores cuts the neck. A
     * core is significant when its peak is >= 2 px above the level, at least twice it (a
     * neck narrower than either vessel's radius) and >= 35 % of the deepest point. */
    for (int32_t level = 3; level + 6 <= dmax && cores < 2; level += 3) {
        memset(seen, 0, (size_t)n);
        for (int i = 0; i < n; i++) part[i] = -1;
        cores = 0;
        for (int s = 0; s < n; s++) {
            if (seen[s] || d[s] < level) continue;
            int head = 0, tail = 0;
            int32_t peak = 0;
            queue[tail++] = s;
            seen[s] = 1;
            while (head < tail) {
                int q = queue[head++], i = q % bw, j = q / bw;
                peak = d[q] > peak ? d[q] : peak;
                for (int e = 0; e < 8; e++) {
                    int x = i + NB_X[e], y = j + NB_Y[e], r = y * bw + x;
                    if (x < 0 || y < 0 || x >= bw || y >= bh || seen[r] || d[r] < level) continue;
                    seen[r] = 1;
                    queue[tail++] = r;
                }
            }
            if (peak >= level + 6 && peak >= 2 * level && peak * 100 >= dmax * 35) {
                for (int q = 0; q < tail; q++) part[queue[q]] = cores;
                cores++;
            }
        }
    }
    int made = 1;
    if (cores >= 2 && *n_cand + cores - 1 <= VS_MAX_CANDIDATES * 2) {
        grow_parts(m, bw, bh, part, queue);
        int64_t areas[VS_MAX_CANDIDATES] = {0};
        for (int i = 0; i < n; i++)
            if (m[i] && part[i] >= 0 && part[i] < VS_MAX_CANDIDATES) areas[part[i]]++;
        int ok = cores <= VS_MAX_CANDIDATES;
        for (int p = 0; p < cores && ok; p++) ok = areas[p] >= min_area;
        if (ok) {
            for (int j = 1; j < bh - 1; j++)
                for (int i = 1; i < bw - 1; i++) {
                    int q = j * bw + i;
                    if (!m[q] || part[q] <= 0) continue;
                    cur[(size_t)(k->y0 + j - 1) * rw + k->x0 + i - 1] = *n_cand + part[q] - 1;
                }
            *n_cand += cores - 1;
            made = cores;
        }
    }
    free(m);
    free(d);
    return made;
}

/* Splits candidate c between the previous frame's tracks it covers (two vessels that
 * now touch): a pixel keeps the track it had, others join the nearest of them. */
static int track_split(venseg_tracker *t, int32_t *cur, const vs_regions *rg, const vs_grid *g, cand *cands, int c,
                       int *n_cand)
{
    const int w = g->w;
    const double cell = g->sx * g->sy; /* observations are in frame px, the labelled area in cells */
    const cand *k = &cands[c];
    int ids[8], n_ids = 0;
    int64_t ov[8] = {0};
    for (int y = k->y0; y <= k->y1; y++)
        for (int x = k->x0; x <= k->x1; x++) {
            if (cur[(size_t)y * rg->w + x] != c) continue;
            int id = t->prev_map[(size_t)(y + rg->oy) * w + x + rg->ox];
            if (id < 0) continue;
            int s = 0;
            while (s < n_ids && ids[s] != id) s++;
            if (s == n_ids) {
                if (n_ids == 8) continue;
                ids[n_ids++] = id;
            }
            ov[s]++;
        }
    /* the tracks it covers substantially: a quarter of their previous area */
    int sig[8], n_sig = 0;
    double px[8], py[8], pd[8];
    const vs_frame_rec *prev = &t->recs[t->n_recs - 1];
    for (int s = 0; s < n_ids; s++)
        for (int o = prev->first_obs; o < prev->first_obs + prev->n_obs; o++) {
            const vs_obs *b = &t->obs[o];
            if (b->track != ids[s] || ov[s] < 8 || (double)(ov[s] * 4) < (double)b->area * cell) continue;
            sig[n_sig] = ids[s];
            px[n_sig] = b->cx * g->sx - rg->ox;
            py[n_sig] = b->cy * g->sy - rg->oy;
            pd[n_sig] = vs_disc_diameter((double)b->area * cell);
            n_sig++;
        }
    /* only vessel-sized tracks (by the largest diameter each ever had) split a component:
     * a small blob touching a vessel is absorbed, a vein that is being squashed is not.
     * (Letting the vein and artery of interest split it whatever their size was measured
     * and dropped: a small vein kept apart while the network shrinks it to nothing read as
     * a full collapse on real-frame sequences, samples 467 and 469 partial) */
    double dmax = 0;
    for (int s = 0; s < n_sig; s++) {
        int j = find_track(t, sig[s]);
        pd[s] = fmax(pd[s], j >= 0 ? t->tracks[j].diameter : 0);
        dmax = fmax(dmax, pd[s]);
    }
    int kept = 0;
    for (int s = 0; s < n_sig; s++)
        if (pd[s] >= 0.5 * dmax) {
            sig[kept] = sig[s], px[kept] = px[s], py[kept] = py[s], pd[kept] = pd[s];
            kept++;
        }
    n_sig = kept;
    if (n_sig < 2 || *n_cand + n_sig - 1 > VS_MAX_CANDIDATES * 2) return 1;
    for (int y = k->y0; y <= k->y1; y++)
        for (int x = k->x0; x <= k->x1; x++) {
            size_t q = (size_t)y * rg->w + x;
            if (cur[q] != c) continue;
            int id = t->prev_map[(size_t)(y + rg->oy) * w + x + rg->ox], p = -1;
            for (int s = 0; s < n_sig; s++)
                if (sig[s] == id) p = s;
            if (p < 0) { /* nearest, in diameters */
                double best = INFINITY;
                for (int s = 0; s < n_sig; s++) {
                    double dd = hypot(x + 0.5 - px[s], y + 0.5 - py[s]) / fmax(pd[s], 1.0);
                    if (dd < best) best = dd, p = s;
                }
            }
            if (p > 0) cur[q] = *n_cand + p - 1;
        }
    *n_cand += n_sig - 1;
    return n_sig;
}

/* Splits off the regions of candidate c's minority label that touch the other label only
 * along a short stretch of their outline: two vessels the network labels apart but that
 * touch (a vein beside its artery). One vessel labelled half one, half the other meets the
 * other label along a chord, a large part of its outline; the real-frame and phantom
 * frames measured in docs/tracking.md (Method, step 2) put pairs at a contact of 7-15 %
 * of the outline and one vessel in two labels at 16-84 %, hence the limit. Each part must
 * be confidently labelled and of vessel size. */
enum { LABEL_SPLIT_MAX_CONTACT_PCT = 15, LABEL_SPLIT_MIN_SHARE_PCT = 5, LABEL_SPLIT_MIN_PROB_PCT = 80 };

/* Mean probability of a region's label over its pixels; 1 for pushed masks (no probabilities). */
static double region_mean_prob(const vs_region *r) { return r->prob > 0 ? r->prob / (double)r->area : 1.0; }

/* c: a component holding both labels, lab_area its artery [0] and vein [1] px; region r
 * belongs to component root_cand[root[r]]. */
static int label_split(int32_t *cur, const vs_regions *rg, const int32_t *root, const int32_t *root_cand, int c,
                       const int64_t lab_area[2], int *n_cand, int min_area, int art, int vein)
{
    const int rw = rg->w, rh = rg->h;
    const int minority = lab_area[1] < lab_area[0] ? vein : art;
    const int64_t whole = lab_area[0] + lab_area[1], rest = lab_area[minority != vein];
    if (rest < min_area) return 1;
    /* the minority label's regions in c: contact with the other label, outline */
    int items[VS_MAX_CANDIDATES], n_items = 0;
    for (int r = 0; r < rg->count && n_items < VS_MAX_CANDIDATES; r++)
        if (root_cand[root[r]] == c && rg->items[r].label == minority) items[n_items++] = r;
    int made = 1;
    for (int s = 0; s < n_items && *n_cand < VS_MAX_CANDIDATES * 2; s++) {
        const vs_region *it = &rg->items[items[s]];
        const double prob = region_mean_prob(it);
        if (it->area < min_area || it->area * 100 < whole * LABEL_SPLIT_MIN_SHARE_PCT ||
            prob * 100 < LABEL_SPLIT_MIN_PROB_PCT)
            continue;
        int64_t outline = 0, contact = 0;
        for (int y = it->y0; y <= it->y1; y++)
            for (int x = it->x0; x <= it->x1; x++) {
                if (rg->comp[(size_t)y * rw + x] != items[s]) continue;
                static const int dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 1, -1};
                int edge = 0, touch = 0;
                for (int e = 0; e < 4; e++) {
                    int u = x + dx[e], v = y + dy[e];
                    if (u < 0 || v < 0 || u >= rw || v >= rh) {
                        edge = 1;
                        continue;
                    }
                    size_t n = (size_t)v * rw + u;
                    if (rg->comp[n] == items[s]) continue;
                    edge = 1;
                    touch |= cur[n] == c && rg->items[rg->comp[n]].label != minority;
                }
                outline += edge;
                contact += touch;
            }
        if (!outline || contact * 100 > outline * LABEL_SPLIT_MAX_CONTACT_PCT) continue;
        for (int y = it->y0; y <= it->y1; y++)
            for (int x = it->x0; x <= it->x1; x++)
                if (rg->comp[(size_t)y * rw + x] == items[s]) cur[(size_t)y * rw + x] = *n_cand;
        (*n_cand)++;
        made++;
    }
    return made;
}

/* Ring brightness around a component over the tissue beyond it: mean grey 1-2 px
 * outside its edge over 4-6 px outside (frame px; on a grid, the frame pixel under each
 * cell; NaN if undefined). */
static double wall_contrast(const int32_t *cur, const vs_regions *rg, int c, const cand *k, const void *pixels,
                            venseg_pixel_format format, int64_t stride, const vs_grid *g, int fw, int fh)
{
    const int w = g->w, h = g->h;
    const double s = sqrt(g->sx * g->sy); /* cells per frame px */
    const int pad = 7, x0 = k->x0 - pad, y0 = k->y0 - pad;
    const int bw = k->x1 - k->x0 + 1 + 2 * pad, bh = k->y1 - k->y0 + 1 + 2 * pad, n = bw * bh;
    uint8_t *m = calloc((size_t)n, 1);
    int32_t *d = malloc((size_t)n * sizeof *d);
    double s1 = 0, s2 = 0;
    int n1 = 0, n2 = 0;
    if (!m || !d) goto done;
    for (int j = 0; j < bh; j++)
        for (int i = 0; i < bw; i++) {
            int x = x0 + i, y = y0 + j;
            m[j * bw + i] = x >= 0 && y >= 0 && x < rg->w && y < rg->h && cur[(size_t)y * rg->w + x] == c;
        }
    chamfer(m, bw, bh, 0, d); /* distance outside the component */
    for (int j = 0; j < bh; j++)
        for (int i = 0; i < bw; i++) {
            int32_t v = d[j * bw + i];
            int gx = x0 + i + rg->ox, gy = y0 + j + rg->oy;
            if (v == 0 || gx < 0 || gy < 0 || gx >= w || gy >= h) continue;
            int in1 = v >= 3 * s && v <= 7 * s, in2 = v >= 12 * s && v <= 18 * s;
            if (!in1 && !in2) continue;
            const int fx = vs_grid_source(gx, g->sx, fw), fy = vs_grid_source(gy, g->sy, fh);
            const uint8_t *row = (const uint8_t *)pixels + (int64_t)fy * stride;
            double g;
            switch (format) {
            case VENSEG_PIXEL_GRAY8: g = row[fx]; break;
            case VENSEG_PIXEL_RGB8:
            case VENSEG_PIXEL_BGR8: g = (row[3 * fx] + row[3 * fx + 1] + row[3 * fx + 2]) / 3.0; break;
            case VENSEG_PIXEL_GRAY16: g = ((const uint16_t *)row)[fx] / 257.0; break;
            case VENSEG_PIXEL_FLOAT32: g = ((const float *)row)[fx] * 255.0; break;
            default: goto done;
            }
            if (!(g >= 0) || !isfinite(g)) continue;
            if (in1) s1 += g, n1++;
            else s2 += g, n2++;
        }
done:
    free(m);
    free(d);
    return n1 > 0 && n2 > 0 && s2 > 0 ? (s1 / n1) / (s2 / n2) : NAN;
}

static int by_area_desc(const void *a, const void *b)
{
    const cand *x = *(const cand *const *)a, *y = *(const cand *const *)b;
    if (x->area != y->area) return x->area > y->area ? -1 : 1;
    if (x->y0 != y->y0) return x->y0 < y->y0 ? -1 : 1;
    return (x->x0 > y->x0) - (x->x0 < y->x0);
}

static int new_track(venseg_tracker *t, double cx, double cy, double diam, int analysed)
{
    if (t->n_tracks == VS_MAX_TRACKS) { /* forget the stalest track that is not of interest */
        int worst = -1;
        for (int i = 0; i < t->n_tracks; i++) {
            if (t->tracks[i].id == t->id.vein_id || t->tracks[i].id == t->id.artery_id) continue;
            if (worst < 0 || t->tracks[i].last_seen < t->tracks[worst].last_seen) worst = i;
        }
        if (worst < 0) return -1;
        t->tracks[worst] = t->tracks[--t->n_tracks];
    }
    vs_track *k = &t->tracks[t->n_tracks];
    k->id = t->next_id++;
    k->cx = cx;
    k->cy = cy;
    k->diameter = diam;
    k->last_seen = analysed;
    return t->n_tracks++;
}

/* Tracks the regions of one analysed fw x fh frame found at the tracker's grid (they lie
 * inside it, at their origin, in cells); pixels (nullable, the frame's) give the wall
 * brightness. Tracks and maps stay in cells; observations are stored in frame px. */
static venseg_status track_regions(venseg_tracker *t, const char *fn, const vs_regions *rg, int fw, int fh,
                                   const void *pixels, venseg_pixel_format format, int64_t stride)
{
    const vs_grid *g = &t->grid;
    const int w = g->w, h = g->h;
    const double cell = g->sx * g->sy, scale = sqrt(cell); /* cells per frame px: area, length */
    venseg_status st = reserve(t, fn, w, h, rg->w, rg->h, rg->count);
    if (st) return st;
    const int art = (int)t->cfg.v[VENSEG_TRACKER_ARTERY_LABEL], vein = (int)t->cfg.v[VENSEG_TRACKER_VEIN_LABEL];
    /* the minimum area is in frame px: in cells, at least 1 */
    const int min_area = (int)fmax(1.0, ceil(t->cfg.v[VENSEG_TRACKER_MIN_AREA_PX] * cell - 1e-9));
    const double max_area = t->cfg.v[VENSEG_TRACKER_MAX_AREA_FRACTION] * (double)w * h;
    const int rw = rg->w, rh = rg->h, n_reg = rg->count;
    int32_t *root = t->region_root, *cur = t->cur;
    /* vessel regions that touch (any label mix) are one component */
    for (int i = 0; i < n_reg; i++) root[i] = i;
    for (int y = 0; y < rh; y++)
        for (int x = 0; x < rw; x++) {
            int32_t a = rg->comp[(size_t)y * rw + x];
            if (a < 0 || (rg->items[a].label != art && rg->items[a].label != vein)) continue;
            static const int dx[4] = {1, -1, 0, 1}, dy[4] = {0, 1, 1, 1};
            for (int e = 0; e < 4; e++) {
                int u = x + dx[e], v = y + dy[e];
                if (u < 0 || u >= rw || v >= rh) continue;
                int32_t b = rg->comp[(size_t)v * rw + u];
                if (b < 0 || b == a || (rg->items[b].label != art && rg->items[b].label != vein)) continue;
                int ra = uf_find(root, a), rb = uf_find(root, b);
                if (ra != rb) root[ra > rb ? ra : rb] = ra < rb ? ra : rb;
            }
        }
    /* the largest plausible components, at most VS_MAX_CANDIDATES (room is left for splits) */
    cand cands[VS_MAX_CANDIDATES * 2];
    int n_cand = 0;
    /* one block: n_reg candidate indices, padded to 8 bytes, then n_reg areas */
    int32_t *root_cand = malloc((size_t)(n_reg ? n_reg : 1) * (sizeof(int32_t) + sizeof(int64_t)) + sizeof(int32_t));
    if (!root_cand) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory (components)", fn);
    int64_t *root_area = (int64_t *)(root_cand + n_reg + (n_reg & 1));
    for (int i = 0; i < n_reg; i++) {
        root[i] = uf_find(root, i);
        root_cand[i] = -1;
        root_area[i] = 0;
    }
    for (int i = 0; i < n_reg; i++)
        if (rg->items[i].label == art || rg->items[i].label == vein) root_area[root[i]] += rg->items[i].area;
    int64_t kept_area[VS_MAX_CANDIDATES];
    int kept_root[VS_MAX_CANDIDATES];
    for (int i = 0; i < n_reg; i++) {
        if (root[i] != i || root_area[i] < min_area || (double)root_area[i] > max_area) continue;
        int pos;
        if (n_cand < VS_MAX_CANDIDATES) pos = n_cand++;
        else if (kept_area[VS_MAX_CANDIDATES - 1] >= root_area[i]) continue;
        else pos = VS_MAX_CANDIDATES - 1; /* replaces the smallest */
        /* insertion into the list sorted by area */
        while (pos > 0 && kept_area[pos - 1] < root_area[i]) {
            kept_area[pos] = kept_area[pos - 1];
            kept_root[pos] = kept_root[pos - 1];
            pos--;
        }
        kept_area[pos] = root_area[i];
        kept_root[pos] = i;
    }
    for (int c = 0; c < n_cand; c++) root_cand[kept_root[c]] = c;
    /* each component's artery and vein px (only one holding both can be split by label) */
    int64_t label_area[VS_MAX_CANDIDATES][2] = {{0}};
    for (int i = 0; i < n_reg; i++)
        if (root_cand[root[i]] >= 0) label_area[root_cand[root[i]]][rg->items[i].label == vein] += rg->items[i].area;
    for (int c = 0; c < n_cand; c++) {
        cands[c].area = 0;
        cands[c].x0 = rw, cands[c].y0 = rh, cands[c].x1 = -1, cands[c].y1 = -1;
    }
    for (int y = 0; y < rh; y++)
        for (int x = 0; x < rw; x++) {
            size_t q = (size_t)y * rw + x;
            int32_t a = rg->comp[q];
            int c = a >= 0 && (rg->items[a].label == art || rg->items[a].label == vein) ? root_cand[root[a]] : -1;
            cur[q] = c;
            if (c < 0) continue;
            cand *k = &cands[c];
            k->area++;
            if (x < k->x0) k->x0 = x;
            if (x > k->x1) k->x1 = x;
            if (y < k->y0) k->y0 = y;
            if (y > k->y1) k->y1 = y;
        }
    /* touching vessels: split between the tracks they were, else where a label meets the
     * other along a short contact, else at a neck. (Splitting by label wherever each label
     * holds a fifth of the region was measured in the model-in-the-loop study and dropped:
     * it also cuts one vein the model labels half artery; label_split asks for a short
     * contact.) */
    int merged = 0;
    const int n_whole = n_cand;
    for (int c = 0; c < n_whole; c++) {
        int parts = t->n_recs > 0 ? track_split(t, cur, rg, g, cands, c, &n_cand) : 1;
        if (parts < 2 && label_area[c][0] && label_area[c][1])
            parts = label_split(cur, rg, root, root_cand, c, label_area[c], &n_cand, min_area, art, vein);
        if (parts < 2) parts = neck_split(cur, rw, cands, c, &n_cand, min_area);
        merged |= parts > 1;
    }
    t->merged_frames += merged;
    /* moments and label masses of the final candidates */
    for (int c = 0; c < n_cand; c++) {
        cand *k = &cands[c];
        memset(k, 0, sizeof *k);
        k->x0 = rw, k->y0 = rh, k->x1 = -1, k->y1 = -1;
        k->track = -1;
    }
    for (int y = 0; y < rh; y++)
        for (int x = 0; x < rw; x++) {
            size_t q = (size_t)y * rw + x;
            int c = cur[q];
            if (c < 0) continue;
            cand *k = &cands[c];
            const vs_region *r = &rg->items[rg->comp[q]];
            const double fx = x + 0.5 + rg->ox, fy = y + 0.5 + rg->oy;
            const double p = region_mean_prob(r);
            k->area++;
            k->sx += fx, k->sy += fy, k->sxx += fx * fx, k->syy += fy * fy, k->sxy += fx * fy;
            if (r->label == vein) k->vein_mass += p;
            else k->artery_mass += p;
            k->prob_sum += p;
            if (x < k->x0) k->x0 = x;
            if (x > k->x1) k->x1 = x;
            if (y < k->y0) k->y0 = y;
            if (y > k->y1) k->y1 = y;
        }
    free(root_cand);
    /* keep parts of plausible size, the largest VS_MAX_CANDIDATES */
    cand *order[VS_MAX_CANDIDATES * 2];
    int keep = 0;
    for (int c = 0; c < n_cand; c++)
        if (cands[c].area >= min_area) order[keep++] = &cands[c];
    if (keep > 1) qsort(order, (size_t)keep, sizeof *order, by_area_desc);
    if (keep > VS_MAX_CANDIDATES) keep = VS_MAX_CANDIDATES;
    for (int c = 0; c < keep; c++) order[c]->keep = 1;
    const int analysed = t->n_recs;

    /* overlap with the previous analysed frame's tracks, largest overlap first */
    if (analysed > 0) {
        int ids[VS_MAX_CANDIDATES * 2];
        int64_t ov[VS_MAX_CANDIDATES][16];
        int n_ids = 0;
        const vs_frame_rec *prev = &t->recs[analysed - 1];
        for (int o = 0; o < prev->n_obs && n_ids < 16; o++) ids[n_ids++] = t->obs[prev->first_obs + o].track;
        memset(ov, 0, sizeof ov);
        int idx_of[VS_MAX_CANDIDATES * 2];
        for (int c = 0; c < n_cand; c++) idx_of[c] = -1;
        for (int c = 0; c < keep; c++) idx_of[order[c] - cands] = c;
        for (int y = 0; y < rh; y++)
            for (int x = 0; x < rw; x++) {
                int c = cur[(size_t)y * rw + x];
                if (c < 0 || idx_of[c] < 0) continue;
                int id = t->prev_map[(size_t)(y + rg->oy) * w + x + rg->ox];
                if (id < 0) continue;
                for (int s = 0; s < n_ids; s++)
                    if (ids[s] == id) {
                        ov[idx_of[c]][s]++;
                        break;
                    }
            }
        int used[16] = {0};
        for (;;) {
            int64_t best = 0;
            int bc = -1, bs = -1;
            for (int c = 0; c < keep; c++) {
                if (order[c]->track >= 0) continue;
                for (int s = 0; s < n_ids; s++)
                    if (!used[s] && ov[c][s] > best) best = ov[c][s], bc = c, bs = s;
            }
            if (bc < 0) break;
            order[bc]->track = ids[bs];
            used[bs] = 1;
        }
    }
    /* no overlap: the nearest unassigned track not seen in this frame, within a diameter */
    for (;;) {
        double best = INFINITY;
        int bc = -1, bk = -1;
        for (int c = 0; c < keep; c++) {
            const cand *k = order[c];
            if (k->track >= 0) continue;
            double cx = k->sx / (double)k->area, cy = k->sy / (double)k->area;
            double dc = vs_disc_diameter((double)k->area);
            for (int j = 0; j < t->n_tracks; j++) {
                const vs_track *tk = &t->tracks[j];
                int taken = tk->last_seen == analysed;
                for (int o = 0; o < keep && !taken; o++) taken = order[o]->track == tk->id;
                if (taken) continue;
                double d = hypot(cx - tk->cx, cy - tk->cy), gate = fmax(fmax(tk->diameter, dc), 5.0 * scale);
                if (d <= gate && d < best) best = d, bc = c, bk = j;
            }
        }
        if (bc < 0) break;
        order[bc]->track = t->tracks[bk].id;
    }
    /* update or create tracks; the frame's observations */
    vs_frame_rec *rec = &t->recs[analysed];
    rec->frame_index = t->pushed;
    rec->first_obs = t->n_obs;
    rec->n_obs = 0;
    for (int c = 0; c < keep; c++) {
        cand *k = order[c];
        const double n = (double)k->area, mx = k->sx / n, my = k->sy / n;
        int j = k->track >= 0 ? find_track(t, k->track) : -1;
        if (j < 0) {
            j = new_track(t, mx, my, vs_disc_diameter(n), analysed);
            if (j < 0) continue; /* every slot holds a track of interest: cannot happen with 2 of 256 */
            k->track = t->tracks[j].id;
        }
        vs_track *tk = &t->tracks[j];
        tk->cx = mx;
        tk->cy = my;
        tk->diameter = fmax(tk->diameter, vs_disc_diameter(n));
        tk->last_seen = analysed;
        /* moments in frame px (a cell is 1 / sx frame px wide) */
        const double vx = (k->sxx / n - mx * mx + 1.0 / 12) / (g->sx * g->sx),
                     vy = (k->syy / n - my * my + 1.0 / 12) / (g->sy * g->sy), cxy = (k->sxy / n - mx * my) / cell;
        const double tr = vx + vy, det = vx * vy - cxy * cxy, disc = sqrt(fmax(tr * tr / 4 - det, 0));
        const double l1 = tr / 2 + disc, l2 = tr / 2 - disc;
        vs_obs *o = &t->obs[t->n_obs++];
        rec->n_obs++;
        o->track = k->track;
        o->label = k->vein_mass > k->artery_mass ? vein : art;
        o->area = cell == 1.0 ? k->area : llround(n / cell);
        o->cx = mx / g->sx;
        o->cy = my / g->sy;
        o->roundness = l1 > 0 ? sqrt(fmax(l2, 0) / l1) : 1.0;
        o->aspect = sqrt(fmax(vy, 1e-12) / fmax(vx, 1e-12));
        o->width = 4.0 * sqrt(fmax(vx, 0));
        o->vein_mass = k->vein_mass / cell;
        o->artery_mass = k->artery_mass / cell;
        o->prob_mean = k->prob_sum / n;
        o->wall = pixels && c < 8 ? wall_contrast(cur, rg, (int)(k - cands), k, pixels, format, stride, g, fw, fh) : NAN;
        o->x0 = (int)floor((k->x0 + rg->ox) / g->sx);
        o->y0 = (int)floor((k->y0 + rg->oy) / g->sy);
        o->x1 = (int)ceil((k->x1 + rg->ox + 1) / g->sx) - 1;
        o->y1 = (int)ceil((k->y1 + rg->oy + 1) / g->sy) - 1;
    }
    /* forget stale tracks that are not of interest */
    for (int j = 0; j < t->n_tracks;) {
        if (t->tracks[j].id != t->id.vein_id && t->tracks[j].id != t->id.artery_id &&
            analysed - t->tracks[j].last_seen > TRACK_FORGET)
            t->tracks[j] = t->tracks[--t->n_tracks];
        else
            j++;
    }
    /* this frame becomes the previous one */
    for (size_t i = 0; i < (size_t)w * h; i++) t->prev_map[i] = -1;
    for (int y = 0; y < rh; y++)
        for (int x = 0; x < rw; x++) {
            int c = cur[(size_t)y * rw + x];
            if (c >= 0 && cands[c].keep) t->prev_map[(size_t)(y + rg->oy) * w + x + rg->ox] = cands[c].track;
        }
    t->n_recs++;
    vs_identity_update(t);
    /* the latest frame's instances with their roles */
    const double px_mm2 = vs_spacing_area(t);
    t->n_inst = rec->n_obs;
    for (int c = 0; c < rec->n_obs; c++) {
        const vs_obs *o = &t->obs[rec->first_obs + c];
        venseg_tracked_instance *q = &t->inst[c];
        memset(q, 0, sizeof *q);
        q->struct_size = sizeof *q;
        q->track_id = o->track;
        q->label = o->label;
        q->role = o->track == t->id.artery_id ? 1 : o->track == t->id.vein_id ? 2 : 0;
        q->area_px = o->area;
        q->area_mm2 = (double)o->area * px_mm2;
        q->centroid_x = o->cx;
        q->centroid_y = o->cy;
        q->bbox_x = o->x0;
        q->bbox_y = o->y0;
        q->bbox_width = o->x1 - o->x0 + 1;
        q->bbox_height = o->y1 - o->y0 + 1;
    }
    return VENSEG_OK;
}

const vs_obs *vs_obs_of(const venseg_tracker *t, int i, int track_id)
{
    if (track_id < 0 || i < 0 || i >= t->n_recs) return NULL;
    const vs_frame_rec *r = &t->recs[i];
    for (int o = r->first_obs; o < r->first_obs + r->n_obs; o++)
        if (t->obs[o].track == track_id) return &t->obs[o];
    return NULL;
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
        vs_grid_init(&t->grid, w, h, (int)t->cfg.v[VENSEG_TRACKER_MAX_SIDE]);
        if (!vs_grid_is_frame(&t->grid)) { /* the mask at the grid: the label under each cell's centre */
            size_t cells = (size_t)t->grid.w * t->grid.h;
            if (!grow((void **)&t->grid_labels, &t->grid_cap, cells, 1))
                return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory for a %d x %d grid", fn, t->grid.w, t->grid.h);
            vs_labels_to_grid(labels, stride, &t->grid, w, h, t->grid_labels);
            labels = t->grid_labels;
            stride = t->grid.w;
        }
        if ((st = vs_regions_find(&t->own, fn, labels, stride, t->grid.w, t->grid.h, 0, 0, NULL))) return st;
        if ((st = track_regions(t, fn, &t->own, w, h, NULL, VENSEG_PIXEL_GRAY8, 0))) return st;
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
    vs_grid_init(&t->grid, w, h, (int)t->cfg.v[VENSEG_TRACKER_MAX_SIDE]);
    if (!vs_grid_is_frame(&t->grid)) { /* labels at the grid, the frame's mask only when asked for */
        st = vs_segment_grid(session, fn, pixels, format, w, h, row_stride, &t->grid, label_mask, mask_stride);
        if (!st) st = track_regions(t, fn, vs_session_regions(session), w, h, pixels, format, row_stride);
        if (st) return st;
        t->w = w;
        t->h = h;
        pushed(t, 1, result);
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
    if (!st) st = track_regions(t, fn, vs_session_regions(session), w, h, pixels, format, row_stride);
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

/* Roles follow the current identity (held once compression starts). */
static void fill_frame(const venseg_tracker *t, int i, venseg_track_frame *f)
{
    const vs_frame_rec *r = &t->recs[i];
    const double px = vs_spacing_area(t), fps = t->cfg.v[VENSEG_TRACKER_FRAME_RATE];
    const vs_obs *v = vs_obs_of(t, i, t->id.vein_id), *a = vs_obs_of(t, i, t->id.artery_id);
    memset(f, 0, sizeof *f);
    f->struct_size = sizeof *f;
    f->frame_index = r->frame_index;
    f->analysed_index = i;
    f->time_s = fps > 0 ? r->frame_index / fps : NAN;
    f->vein_track_id = t->id.vein_id;
    f->artery_track_id = t->id.artery_id;
    f->vein_present = v != NULL;
    f->artery_present = a != NULL;
    f->vein_area_px = v ? v->area : 0;
    f->artery_area_px = a ? a->area : 0;
    f->vein_area_mm2 = (double)f->vein_area_px * px;
    f->artery_area_mm2 = (double)f->artery_area_px * px;
    f->vein_centroid_x = v ? v->cx : NAN;
    f->vein_centroid_y = v ? v->cy : NAN;
    f->artery_centroid_x = a ? a->cx : NAN;
    f->artery_centroid_y = a ? a->cy : NAN;
    f->instance_count = r->n_obs;
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

venseg_status venseg_tracker_vessel_count(const venseg_tracker *t, int32_t *count)
{
    return vs_count_out("venseg_tracker_vessel_count", t, "tracker", count, t ? t->id.n : 0);
}

venseg_status venseg_tracker_vessel_at(const venseg_tracker *t, int32_t index, venseg_vessel *out)
{
    venseg_status st = vs_item_check("venseg_tracker_vessel_at", t, "tracker", out, index, t ? t->id.n : 0);
    if (st) return st;
    venseg_vessel v;
    vs_vessel_fill(t, index, &v);
    vs_struct_copy(out, &v, sizeof v);
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
