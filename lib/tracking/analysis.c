/* The sequence analysis: which track is the vein and which the artery (from the frames
 * before compression, then held), the vein's area curve with dropouts told apart from a
 * collapse, compressibility, the verdict, its flags and its confidence.
 * See docs/tracking.md ("Identity", "Verdict"). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracking/tracker.h"

enum { MAX_WINDOW = 300, MAX_STATS = 64 };

#define VS_PI 3.14159265358979323846

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of the non-NaN values among v[0..n) (sorted in place); NaN if none. */
static double median_of(double *v, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) v[m++] = v[i];
    if (m == 0) return NAN;
    qsort(v, (size_t)m, sizeof *v, cmp_double);
    return m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
}

/* Running median of width win (odd) over n values; at the ends the window keeps its
 * width and shifts inwards, so the first and last frames are smoothed too (a lone
 * outlier there must not become the baseline). NaN inputs are left out; a window of NaNs
 * gives NaN. */
static void running_median(const double *in, int n, int win, double *out)
{
    double buf[16];
    const int half = win / 2;
    for (int i = 0; i < n; i++) {
        int lo = i - half, hi = i + half;
        if (lo < 0) hi -= lo, lo = 0;
        if (hi > n - 1) lo -= hi - (n - 1), hi = n - 1;
        if (lo < 0) lo = 0;
        int m = 0;
        for (int j = lo; j <= hi; j++) buf[m++] = in[j];
        out[i] = median_of(buf, m);
    }
}

static double clamp1(double x) { return x < -1 ? -1 : x > 1 ? 1 : x; }
static double logistic(double x) { return 1.0 / (1.0 + exp(-x)); }

/* -------------------------------------------------------------- pulsation */

/* Solves the n x n system a x = b in place (Gaussian elimination, partial pivoting);
 * 0 if singular. */
static int solve(double *a, double *b, int n)
{
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(a[r * n + c]) > fabs(a[p * n + c])) p = r;
        if (fabs(a[p * n + c]) < 1e-12) return 0;
        if (p != c) {
            for (int k = 0; k < n; k++) {
                double s = a[c * n + k];
                a[c * n + k] = a[p * n + k];
                a[p * n + k] = s;
            }
            double s = b[c];
            b[c] = b[p];
            b[p] = s;
        }
        for (int r = c + 1; r < n; r++) {
            double f = a[r * n + c] / a[c * n + c];
            for (int k = c; k < n; k++) a[r * n + k] -= f * a[c * n + k];
            b[r] -= f * b[c];
        }
    }
    for (int c = n - 1; c >= 0; c--) {
        for (int k = c + 1; k < n; k++) b[c] -= a[c * n + k] * b[k];
        b[c] /= a[c * n + c];
    }
    return 1;
}

/* Residual sum of squares of y on the columns 1, u, u^2 (u: centred, scaled time) and,
 * with f > 0, cos/sin(2 pi f t); *amp receives the sinusoid's amplitude. */
static double fit_rss(const double *t, const double *y, int n, double t0, double ts, double f, double *amp)
{
    const int k = f > 0 ? 5 : 3;
    double a[25] = {0}, b[5] = {0}, x[5];
    for (int i = 0; i < n; i++) {
        double u = (t[i] - t0) / ts;
        x[0] = 1, x[1] = u, x[2] = u * u;
        if (f > 0) {
            x[3] = cos(2 * VS_PI * f * t[i]);
            x[4] = sin(2 * VS_PI * f * t[i]);
        }
        for (int r = 0; r < k; r++) {
            b[r] += x[r] * y[i];
            for (int c = 0; c < k; c++) a[r * k + c] += x[r] * x[c];
        }
    }
    if (!solve(a, b, k)) return NAN;
    double rss = 0;
    for (int i = 0; i < n; i++) {
        double u = (t[i] - t0) / ts, e = y[i] - b[0] - b[1] * u - b[2] * u * u;
        if (f > 0) e -= b[3] * cos(2 * VS_PI * f * t[i]) + b[4] * sin(2 * VS_PI * f * t[i]);
        rss += e * e;
    }
    if (amp) *amp = f > 0 ? hypot(b[3], b[4]) : 0;
    return rss;
}

/* The strongest cardiac-band (0.7-3 Hz) sinusoid in a relative area series, over a slow
 * quadratic trend. Significant when it explains far more than noise (F >= 8). Returns the
 * amplitude in % (NaN: not measurable) and sets *bpm (NaN unless significant). */
static double pulsation(const double *t, const double *y, int n, double sample_rate, double *bpm)
{
    *bpm = NAN;
    if (n < 10 || !(sample_rate > 0)) return NAN;
    const double span = t[n - 1] - t[0], f_hi = fmin(3.0, 0.45 * sample_rate);
    if (span < 1.4 || f_hi < 0.7) return NAN;
    const double t0 = 0.5 * (t[0] + t[n - 1]), ts = fmax(span / 2, 1e-6);
    const double rss0 = fit_rss(t, y, n, t0, ts, 0, NULL);
    double best = INFINITY, best_f = 0, best_amp = 0;
    for (double f = 0.7; f <= f_hi + 1e-9; f += 0.05) { /* 3 bpm: finer than a 1.4 s window resolves */
        double amp, rss = fit_rss(t, y, n, t0, ts, f, &amp);
        if (rss < best) best = rss, best_f = f, best_amp = amp;
    }
    if (!isfinite(best) || !(rss0 >= 0)) return NAN;
    /* a floor of 0.5 % rms for the residual: masks without noise must not make any
     * ripple "significant"; and below 1.5 % no pulse is claimed */
    const double floor_rss = n * 0.005 * 0.005;
    const double fstat = ((rss0 - best) / 2) / (fmax(best, floor_rss) / (n - 5));
    if (fstat < 8 || best_amp < 0.015) return 0.0;
    *bpm = best_f * 60.0;
    return 100.0 * best_amp;
}

/* --------------------------------------------------------------- identity */

typedef struct tstat {
    int id, present, first;
    double area, cx, cy;           /* sums over the window */
    double vein_mass, artery_mass, prob;
    double roundness, wall, pulse, bpm, mean_area;
} tstat;

typedef enum site_kind { SITE_NONE, SITE_COMMON_FEMORAL, SITE_FEMORAL, SITE_POPLITEAL } site_kind;

static site_kind site_of(const venseg_tracker *t)
{
    char s[64];
    size_t n = strlen(t->cfg.site);
    for (size_t i = 0; i <= n; i++) s[i] = (char)tolower((unsigned char)t->cfg.site[i]);
    if (!strcmp(s, VENSEG_SITE_COMMON_FEMORAL)) return SITE_COMMON_FEMORAL;
    if (!strcmp(s, VENSEG_SITE_FEMORAL)) return SITE_FEMORAL;
    if (!strcmp(s, VENSEG_SITE_POPLITEAL)) return SITE_POPLITEAL;
    return SITE_NONE;
}

/* Per-track cues over the analysed frames [0, nw). */
static int collect(const venseg_tracker *t, int nw, tstat *st)
{
    int n = 0;
    for (int i = 0; i < nw; i++) {
        const vs_frame_rec *r = &t->recs[i];
        for (int o = r->first_obs; o < r->first_obs + r->n_obs; o++) {
            const vs_obs *b = &t->obs[o];
            int k = 0;
            while (k < n && st[k].id != b->track) k++;
            if (k == n) {
                if (n == MAX_STATS) continue;
                memset(&st[n], 0, sizeof st[n]);
                st[n].id = b->track;
                st[n].first = i;
                n++;
            }
            tstat *s = &st[k];
            s->present++;
            s->area += (double)b->area;
            s->cx += b->cx;
            s->cy += b->cy;
            s->vein_mass += b->vein_mass;
            s->artery_mass += b->artery_mass;
            s->prob += b->prob_mean;
        }
    }
    for (int k = 0; k < n; k++) st[k].mean_area = st[k].area / st[k].present;
    return n;
}

/* Roundness, wall contrast and pulsation of one track over [0, nw). */
static void shape_and_pulse(const venseg_tracker *t, int nw, tstat *s, double *buf)
{
    double *tt = buf, *yy = buf + nw, *rr = buf + 2 * nw, *ww = buf + 3 * nw;
    int n = 0, nr = 0, nwall = 0;
    const double fps = t->cfg.v[VENSEG_TRACKER_FRAME_RATE], stride = t->cfg.v[VENSEG_TRACKER_FRAME_STRIDE];
    for (int i = 0; i < nw; i++) {
        const vs_obs *b = vs_obs_of(t, i, s->id);
        if (!b) continue;
        rr[nr++] = b->roundness;
        if (!isnan(b->wall)) ww[nwall++] = b->wall;
        if (fps > 0) {
            tt[n] = t->recs[i].frame_index / fps;
            yy[n] = (double)b->area / s->mean_area;
            n++;
        }
    }
    s->roundness = median_of(rr, nr);
    s->wall = median_of(ww, nwall);
    s->pulse = fps > 0 ? pulsation(tt, yy, n, fps / stride, &s->bpm) : NAN;
    if (!(fps > 0)) s->bpm = NAN;
}

static const char *side_word(site_kind site, int medial_side, double dx, double dy, int *known)
{
    *known = 1;
    if (site == SITE_POPLITEAL || site == SITE_FEMORAL) return dy < 0 ? "superficial to" : "deep to";
    if (site == SITE_COMMON_FEMORAL && medial_side) return dx * medial_side > 0 ? "medial to" : "lateral to";
    *known = 0;
    return dx < 0 ? "left of" : "right of";
}

static void describe(venseg_vessel *v, const char *other, site_kind site, int medial_side, double dx, double dy)
{
    char pos[64] = "", pulse[64], shape[32];
    int known;
    if (other) {
        const char *w = side_word(site, medial_side, dx, dy, &known);
        snprintf(pos, sizeof pos, "%s the %s, ", w, other);
    }
    if (isnan(v->pulsatility_percent)) snprintf(pulse, sizeof pulse, "pulsation not measured");
    else if (isnan(v->pulse_rate_bpm)) snprintf(pulse, sizeof pulse, "no pulsation");
    else snprintf(pulse, sizeof pulse, "pulsating %.1f %% at %.0f bpm", v->pulsatility_percent, v->pulse_rate_bpm);
    snprintf(shape, sizeof shape, "%s", v->roundness >= 0.85 ? "round" : "oval");
    const char *name = v->identity == VENSEG_IDENTITY_VEIN     ? "vein"
                       : v->identity == VENSEG_IDENTITY_ARTERY ? "artery"
                                                                : "other vessel";
    char comp[48] = "";
    if (v->identity == VENSEG_IDENTITY_VEIN && !isnan(v->compressibility_percent))
        snprintf(comp, sizeof comp, ", %.0f %% compressed", v->compressibility_percent);
    snprintf(v->evidence, sizeof v->evidence, "%s: %s%s, %s, network %.0f %% vein%s", name, pos, pulse, shape,
             100.0 * v->network_vein_fraction, comp);
}

/* Weights of the cues, in log-odds of "A is the vein, B the artery" (docs/tracking.md). */
#define W_NETWORK 4.0
#define W_PULSE 4.0
#define W_ROUND 1.5
#define W_WALL 1.0
#define W_SIZE 0.75
#define W_POSITION 4.0
#define W_POSITION_WEAK 1.5
#define W_WEAK_MAX 1.5
#define LONE_VESSEL_CONFIDENCE 0.8

/* The analysed index where compression starts (a pair vessel shrinks or flattens well
 * below its earlier median), or -1. Checks frame i with its smoothing neighbours. */
static int compression_at(const venseg_tracker *t, int track, int i, double *buf)
{
    if (i < 4 || i + 1 >= t->n_recs) return 0;
    double *area = buf, *asp = buf + (i + 2), *tmp = buf + 2 * (i + 2);
    for (int k = 0; k <= i + 1; k++) {
        const vs_obs *b = vs_obs_of(t, k, track);
        area[k] = b ? (double)b->area : NAN;
        asp[k] = b ? b->aspect : NAN;
    }
    double cur_area[3] = {area[i - 1], area[i], area[i + 1]}, cur_asp[3] = {asp[i - 1], asp[i], asp[i + 1]};
    double a_now = median_of(cur_area, 3), s_now = median_of(cur_asp, 3);
    for (int k = 0; k < i - 1; k++) tmp[k] = area[k];
    double a_ref = median_of(tmp, i - 1);
    for (int k = 0; k < i - 1; k++) tmp[k] = asp[k];
    double s_ref = median_of(tmp, i - 1);
    return (a_now < 0.75 * a_ref) || (s_now < 0.85 * s_ref);
}

static double vein_fraction(const tstat *s) { return s->vein_mass / fmax(s->vein_mass + s->artery_mass, 1e-12); }

static double pair_score(const tstat *k, const tstat *p1)
{
    return k->present * k->mean_area * (0.25 + fabs(vein_fraction(k) - vein_fraction(p1)));
}

/* others: also measure the tracks outside the pair (their cues are evidence only; the
 * provisional decisions made on every frame before the identity is held skip them). */
static void decide(venseg_tracker *t, int nw, double *buf, int others)
{
    vs_identity *id = &t->id;
    const int locked = id->locked, window = id->window;
    tstat st[MAX_STATS];
    int n = collect(t, nw, st);
    const double min_area = t->cfg.v[VENSEG_TRACKER_MIN_AREA_PX];
    const site_kind site = site_of(t);
    int medial = (int)t->cfg.v[VENSEG_TRACKER_MEDIAL_SIDE];
    /* the pair: the two most persistent, sizeable neighbouring tracks */
    int p1 = -1, p2 = -1;
    /* persistent: in 30 % of the frames (at least 3), so a blob of a few frames is not a vessel */
    const int need = nw >= 3 ? (int)fmax(3.0, ceil(0.3 * nw)) : 1;
    for (int k = 0; k < n; k++) {
        if (st[k].present < need || st[k].mean_area < min_area) continue;
        if (p1 < 0 || st[k].present * st[k].mean_area > st[p1].present * st[p1].mean_area) p1 = k;
    }
    if (p1 >= 0) {
        const double d1 = vs_disc_diameter(st[p1].mean_area);
        for (int k = 0; k < n; k++) {
            if (k == p1 || st[k].present < need || st[k].mean_area < 0.1 * st[p1].mean_area) continue;
            double dist = hypot(st[k].cx / st[k].present - st[p1].cx / st[p1].present,
                                st[k].cy / st[k].present - st[p1].cy / st[p1].present);
            if (dist > 3.0 * fmax(d1, vs_disc_diameter(st[k].mean_area))) continue;
            /* a neighbour the network labels differently is the likelier partner (at a
             * bifurcation two arteries lie beside one vein) */
            if (p2 < 0 || pair_score(&st[k], &st[p1]) > pair_score(&st[p2], &st[p1])) p2 = k;
        }
    }
    memset(id, 0, sizeof *id);
    id->vein_id = id->artery_id = -1;
    id->confidence = NAN;
    id->locked = locked;
    id->window = window ? window : nw;
    if (p1 < 0) return;
    shape_and_pulse(t, nw, &st[p1], buf);
    if (p2 >= 0) shape_and_pulse(t, nw, &st[p2], buf);
    int vein = -1, artery = -1;
    double conf, dx = 0, dy = 0, c_pos = 0;
    double net = 0, rest = 0, diam = 0;
    if (p2 >= 0) {
        tstat *a = &st[p1], *b = &st[p2];
        const double fa = vein_fraction(a), fb = vein_fraction(b);
        net = W_NETWORK * (fa - fb);
        const double pa = isnan(a->pulse) ? 0 : a->pulse, pb = isnan(b->pulse) ? 0 : b->pulse;
        if (!isnan(a->bpm) || !isnan(b->bpm)) rest += W_PULSE * clamp1((pb - pa) / 4.0);
        /* shape, wall and size together stay below MIN_IDENTITY_CONFIDENCE's default on their own */
        double weak = W_SIZE * clamp1(log2(a->mean_area / b->mean_area));
        if (!isnan(a->roundness) && !isnan(b->roundness)) weak += W_ROUND * clamp1((b->roundness - a->roundness) / 0.25);
        if (!isnan(a->wall) && !isnan(b->wall)) weak += W_WALL * clamp1((b->wall - a->wall) / 0.4);
        rest += fmax(-W_WEAK_MAX, fmin(W_WEAK_MAX, weak));
        dx = a->cx / a->present - b->cx / b->present;
        dy = a->cy / a->present - b->cy / b->present;
        diam = 0.5 * (vs_disc_diameter(a->mean_area) + vs_disc_diameter(b->mean_area));
        if (site == SITE_COMMON_FEMORAL && medial) c_pos = W_POSITION * clamp1(dx * medial / (0.5 * diam));
        else if (site == SITE_POPLITEAL) c_pos = W_POSITION * clamp1(-dy / (0.5 * diam));
        else if (site == SITE_FEMORAL) c_pos = W_POSITION_WEAK * clamp1(dy / (0.5 * diam));
        rest += c_pos;
        if (fabs(fa - fb) < 0.5 && fabs(rest) < 2.5) p2 = -1; /* one class to the network, nothing else apart: no pair */
    }
    if (p2 >= 0) {
        const double llr = net + rest;
        vein = llr >= 0 ? p1 : p2;
        artery = llr >= 0 ? p2 : p1;
        conf = logistic(fabs(llr));
        id->conflict = fabs(net) >= 1.0 && fabs(rest) >= 1.0 && (net > 0) != (rest > 0);
        if (vein == p2) dx = -dx, dy = -dy, c_pos = -c_pos; /* now: vein minus artery */
        id->medial_side = site == SITE_COMMON_FEMORAL ? medial : 0;
        id->medial_source = id->medial_side ? 1 : 0;
        if (site == SITE_COMMON_FEMORAL && !medial && conf >= 0.9 && fabs(dx) >= 0.5 * diam) {
            id->medial_side = dx > 0 ? 1 : -1; /* the vein is medial: the side follows from the other cues */
            id->medial_source = 2;
        }
    } else {
        dx = dy = c_pos = 0;
        /* a lone vessel: the network, pulsation and shape, and no neighbour to compare */
        tstat *a = &st[p1];
        const double fa = a->vein_mass / fmax(a->vein_mass + a->artery_mass, 1e-12);
        double llr = W_NETWORK * (2 * fa - 1);
        if (!isnan(a->bpm)) llr -= W_PULSE * clamp1(a->pulse / 4.0);
        if (!isnan(a->roundness)) llr += W_ROUND * clamp1((0.85 - a->roundness) / 0.2);
        if (llr >= 0) vein = p1;
        else artery = p1;
        conf = fmin(logistic(fabs(llr)), LONE_VESSEL_CONFIDENCE);
        id->conflict = fabs(W_NETWORK * (2 * fa - 1)) >= 1.0 && (fa > 0.5) != (llr >= 0);
    }
    id->vein_id = vein >= 0 ? st[vein].id : -1;
    id->artery_id = artery >= 0 ? st[artery].id : -1;
    id->confidence = conf;
    /* the vessels: the vein, the artery, then the others by size */
    int order[MAX_STATS], m = 0;
    if (vein >= 0) order[m++] = vein;
    if (artery >= 0) order[m++] = artery;
    for (int k = 0; k < n; k++) {
        if (k == vein || k == artery) continue;
        int pos = m++;
        while (pos > (vein >= 0) + (artery >= 0) && st[order[pos - 1]].mean_area < st[k].mean_area) {
            order[pos] = order[pos - 1];
            pos--;
        }
        order[pos] = k;
    }
    if (m > VS_MAX_VESSELS) m = VS_MAX_VESSELS;
    for (int j = 0; j < m; j++) {
        tstat *s = &st[order[j]];
        venseg_vessel *v = &id->v[j];
        memset(v, 0, sizeof *v);
        v->struct_size = sizeof *v;
        v->track_id = s->id;
        const int is_pair = order[j] == vein || order[j] == artery;
        if (!is_pair && others) shape_and_pulse(t, nw, s, buf);
        if (!is_pair && !others) s->roundness = s->wall = s->pulse = s->bpm = NAN;
        v->identity = order[j] == vein ? VENSEG_IDENTITY_VEIN : order[j] == artery ? VENSEG_IDENTITY_ARTERY
                                                                                   : VENSEG_IDENTITY_OTHER;
        v->role = order[j] == vein ? 2 : order[j] == artery ? 1 : 0;
        v->identity_confidence = is_pair ? conf : NAN;
        v->network_vein_fraction = s->vein_mass / fmax(s->vein_mass + s->artery_mass, 1e-12);
        v->pulsatility_percent = s->pulse;
        v->pulse_rate_bpm = s->bpm;
        v->roundness = s->roundness;
        v->wall_contrast = s->wall;
        v->mean_area_px = s->mean_area;
        v->size_ratio = NAN;
        v->position_score = 0;
        v->compressibility_percent = NAN;
        v->first_frame = t->recs[s->first].frame_index;
        if (vein >= 0 && artery >= 0 && is_pair) {
            const tstat *o = &st[order[j] == vein ? artery : vein];
            v->size_ratio = s->mean_area / o->mean_area;
            v->position_score = clamp1((order[j] == vein ? c_pos : -c_pos) / W_POSITION);
        }
    }
    id->n = m;
    id->pair = vein >= 0 && artery >= 0;
    id->vein_dx = dx;
    id->vein_dy = dy;
}

static venseg_status summarise(const venseg_tracker *t, venseg_track_summary *s);

void vs_identity_update(venseg_tracker *t)
{
    const int n = t->n_recs;
    double *buf = malloc((size_t)(4 * (n + 2) + 16) * sizeof *buf);
    if (!buf) return; /* identity keeps its last state; summary reports what it has */
    if (!t->id.locked) {
        const double fps = t->cfg.v[VENSEG_TRACKER_FRAME_RATE], stride = t->cfg.v[VENSEG_TRACKER_FRAME_STRIDE];
        const int cap = fps > 0 ? (int)fmin(MAX_WINDOW, 10.0 * fps / stride) : MAX_WINDOW;
        decide(t, n, buf, 0);
        int onset = 0;
        if (t->id.vein_id >= 0) onset |= compression_at(t, t->id.vein_id, n - 2, buf);
        if (t->id.artery_id >= 0) onset |= compression_at(t, t->id.artery_id, n - 2, buf);
        /* compression must look so in two analysed frames running: one noisy mask must not
         * end the identity window */
        t->onset_run = onset ? t->onset_run + 1 : 0;
        if (t->onset_run >= 2 || n >= cap) {
            const int window = t->onset_run >= 2 ? (n - 4 > 3 ? n - 4 : 3) : n;
            decide(t, window, buf, 1);
            t->id.locked = 1;
            t->id.window = window;
        }
    }
    free(buf);
}

/* Vessel index as the caller sees it: the numbers that keep changing after the identity
 * is held (frames seen, the vein's compressibility) and the evidence line are made here,
 * on request, not on every pushed frame. */
void vs_vessel_fill(const venseg_tracker *t, int index, venseg_vessel *out)
{
    const vs_identity *id = &t->id;
    *out = id->v[index];
    int present = 0;
    for (int i = 0; i < t->n_recs; i++) present += vs_obs_of(t, i, out->track_id) != NULL;
    out->frames_present = present;
    venseg_track_summary sum;
    if (out->role == 2) /* the summary's own number: one measurement of the vein */
        out->compressibility_percent = summarise(t, &sum) ? NAN : sum.compressibility_percent;
    const char *other = id->pair && out->role ? (out->role == 2 ? "artery" : "vein") : NULL;
    const double sgn = out->role == 1 ? -1.0 : 1.0; /* offsets are the vein's from the artery */
    describe(out, other, site_of(t), id->medial_side, sgn * id->vein_dx, sgn * id->vein_dy);
}

/* -------------------------------------------------------------- the curve */

typedef struct curve {
    double *raw;       /* track area, NaN where absent and not a collapse, 0 where collapsed */
    double *sm;        /* running median of raw */
    int first;         /* first analysed frame with the track; -1 */
    int dropouts;      /* frames skipped as dropouts */
    int lost;          /* vanished while open for longer than a dropout */
    double ref;        /* its open area before compression */
    int phase_lo, phase_hi; /* analysed frames where the probe presses (the artery is flattened),
                             * widened by the smoothing; all frames when it never is */
} curve;

/* The artery's flattening per analysed frame: 1 where its smoothed aspect is below
 * (1 - ARTERY_DEFORMATION_PERCENT) of its median before compression. */
static void artery_pressed(const venseg_tracker *t, double *aspect_sm, int *pressed, double *tmp)
{
    const int n = t->n_recs, win = (int)t->cfg.v[VENSEG_TRACKER_SMOOTH_WINDOW];
    for (int i = 0; i < n; i++) {
        const vs_obs *a = vs_obs_of(t, i, t->id.artery_id);
        tmp[i] = a ? a->aspect : NAN;
    }
    running_median(tmp, n, win, aspect_sm);
    const int w = t->id.window > 0 && t->id.window <= n ? t->id.window : n;
    for (int i = 0; i < w; i++) tmp[i] = aspect_sm[i];
    const double ref = median_of(tmp, w), k = 1.0 - t->cfg.v[VENSEG_TRACKER_ARTERY_DEFORMATION_PERCENT] / 100.0;
    for (int i = 0; i < n; i++) pressed[i] = ref > 0 && aspect_sm[i] < k * ref;
}

/* The area curve of a track: a missing frame is a collapse when the vessel was nearly
 * closed beside it, or for a long gap while the artery is pressed; a short gap between
 * open frames is a dropout (skipped); a long one while open is a loss. */
static void track_curve(const venseg_tracker *t, int track, curve *c, double *buf)
{
    const int n = t->n_recs, win = (int)t->cfg.v[VENSEG_TRACKER_SMOOTH_WINDOW];
    const double fps = t->cfg.v[VENSEG_TRACKER_FRAME_RATE], stride = t->cfg.v[VENSEG_TRACKER_FRAME_STRIDE];
    /* gaps up to long_gap analysed frames (0.5 s) between open frames are dropouts: a
     * segmenter missing the vein at random leaves longer runs too rarely to matter */
    const int long_gap = fps > 0 ? (int)fmax(6.0, floor(0.5 * fps / stride + 0.5)) : 6;
    /* a vein still closing at its last rate shuts within 0.2 s (at least two analysed
     * frames) or was lost: extrapolating over a longer gap would call any shrinking vein
     * that the segmenter then misses collapsed */
    const int close_frames = fps > 0 ? (int)fmax(2.0, floor(0.2 * fps / stride + 0.5)) : 2;
    const double lost_fraction = t->cfg.v[VENSEG_TRACKER_LOST_FRACTION];
    double *tmp = buf, *aspect_sm = buf + n;
    int *pressed = (int *)(buf + 2 * n);
    c->first = -1;
    c->dropouts = 0;
    c->lost = 0;
    for (int i = 0; i < n; i++) {
        const vs_obs *b = vs_obs_of(t, i, track);
        if (b && c->first < 0) c->first = i;
        c->raw[i] = b ? (double)b->area : NAN;
    }
    if (c->first < 0) {
        for (int i = 0; i < n; i++) c->sm[i] = NAN;
        c->ref = NAN;
        return;
    }
    const int w = t->id.window > 0 && t->id.window <= n ? t->id.window : n;
    int m = 0;
    for (int i = 0; i < w; i++)
        if (!isnan(c->raw[i])) tmp[m++] = c->raw[i];
    c->ref = m ? median_of(tmp, m) : NAN;
    if (isnan(c->ref)) { /* first seen after compression began: its largest area */
        c->ref = 0;
        for (int i = 0; i < n; i++)
            if (!isnan(c->raw[i])) c->ref = fmax(c->ref, c->raw[i]);
    }
    artery_pressed(t, aspect_sm, pressed, tmp);
    c->phase_lo = 0;
    c->phase_hi = n - 1;
    {
        int lo = -1, hi = -1;
        for (int i = 0; i < n; i++)
            if (pressed[i]) hi = i, lo = lo < 0 ? i : lo;
        if (lo >= 0) {
            c->phase_lo = lo - win > 0 ? lo - win : 0;
            c->phase_hi = hi + win < n - 1 ? hi + win : n - 1;
        }
    }
    for (int i = c->first + 1; i < n; i++) {
        if (!isnan(c->raw[i])) continue;
        int j = i;
        while (j < n && isnan(c->raw[j])) j++;
        const double prev = c->raw[i - 1], next = j < n ? c->raw[j] : NAN;
        double prev2 = NAN;
        for (int k = i - 2; k >= 0 && isnan(prev2); k--) prev2 = c->raw[k];
        const int len = j - i;
        int press = 0;
        for (int k = i; k < j; k++) press |= pressed[k];
        /* a collapse: nearly closed beside the gap, closing fast enough to shut within 0.2 s,
         * or gone for longer than a dropout while the artery is pressed after
         * shrinking to LOST_FRACTION of its baseline. A vein that vanishes from a larger area
         * was lost by the segmenter (seen on real-frame sequences: a partly compressed vein
         * the network stops labelling read as 100 % compressible), not collapsed. */
        const int nearly_closed = prev < 0.2 * c->ref || (j < n && next < 0.2 * c->ref);
        const int horizon = len < close_frames ? len : close_frames;
        const int closing = !isnan(prev2) && prev < prev2 && prev + (prev - prev2) * horizon <= 0.2 * c->ref;
        const int shrunk = prev <= lost_fraction * c->ref;
        double fill = NAN;
        if (nearly_closed || closing || (len > long_gap && press && shrunk)) fill = 0;
        else if (len <= long_gap) c->dropouts += len; /* also at the very end: too short to tell */
        else if (!shrunk)
            c->lost = 1;
        for (int k = i; k < j; k++) c->raw[k] = fill;
        i = j;
    }
    running_median(c->raw, n, win, c->sm);
}

/* The deepest relative drop of the smoothed curve below an earlier peak. */
static double deepest_drop(const curve *c, int n, int *ib, int *im)
{
    double peak = -1, best = -1;
    int ipeak = -1;
    *ib = *im = -1;
    for (int i = c->first; i >= 0 && i < n; i++) {
        if (isnan(c->sm[i])) continue;
        if (c->sm[i] > peak) peak = c->sm[i], ipeak = i;
        if (i < c->phase_lo || i > c->phase_hi) continue; /* a drop without pressure: out of plane, not compressed */
        double rel = peak > 0 ? (peak - c->sm[i]) / peak : 0;
        if (rel > best + 1e-12) best = rel, *ib = ipeak, *im = i;
    }
    return best;
}


/* ----------------------------------------------------------------- summary */

/* The vein at rest and under full pressure, robust to breathing, pulsation and noise:
 * the rest area is the median of the smoothed curve before compression (>= 5 frames), the
 * compressed area its median over the hold, the frames where the artery is flattened
 * within a quarter of its deepest flattening (>= 3 frames). Where either is missing the
 * deepest drop's peak or bottom stays. ib / im become the frames nearest those values. */
static void rest_and_hold(const venseg_tracker *t, const curve *cv, int *ib, int *im, double *baseline,
                          double *minimum, double *tmp, double *aspect_sm)
{
    const int n = t->n_recs, win = (int)t->cfg.v[VENSEG_TRACKER_SMOOTH_WINDOW];
    const int w = t->id.window > 0 && t->id.window <= n ? t->id.window : n;
    int m = 0;
    for (int i = cv->first; i < w; i++)
        if (!isnan(cv->sm[i])) tmp[m++] = cv->sm[i];
    if (m >= 5 && w < n) {
        const double rest = median_of(tmp, m);
        if (rest > *minimum) {
            *baseline = rest;
            double best = INFINITY;
            for (int i = cv->first; i < w; i++)
                if (!isnan(cv->sm[i]) && fabs(cv->sm[i] - rest) < best) best = fabs(cv->sm[i] - rest), *ib = i;
        }
    }
    if (t->id.artery_id < 0) return;
    for (int i = 0; i < n; i++) {
        const vs_obs *a = vs_obs_of(t, i, t->id.artery_id);
        tmp[i] = a ? a->aspect : NAN;
    }
    running_median(tmp, n, win, aspect_sm);
    m = 0;
    for (int i = 0; i < w; i++)
        if (!isnan(aspect_sm[i])) tmp[m++] = aspect_sm[i];
    const double ref = median_of(tmp, m);
    double low = INFINITY;
    for (int i = cv->phase_lo; i <= cv->phase_hi; i++)
        if (!isnan(aspect_sm[i]) && aspect_sm[i] < low) low = aspect_sm[i];
    const double need = t->cfg.v[VENSEG_TRACKER_ARTERY_DEFORMATION_PERCENT] / 100.0;
    if (!(ref > 0) || !isfinite(low) || (ref - low) / ref < need) return; /* no clear hold */
    const double cut = low + 0.25 * (ref - low);
    m = 0;
    for (int i = cv->phase_lo; i <= cv->phase_hi; i++)
        if (!isnan(aspect_sm[i]) && aspect_sm[i] <= cut && !isnan(cv->sm[i])) tmp[m++] = cv->sm[i];
    if (m < 3) return;
    const double held = median_of(tmp, m);
    if (!(held < *baseline)) return;
    *minimum = held;
    double best = INFINITY;
    for (int i = cv->phase_lo; i <= cv->phase_hi; i++)
        if (!isnan(aspect_sm[i]) && aspect_sm[i] <= cut && !isnan(cv->sm[i]) && fabs(cv->sm[i] - held) < best)
            best = fabs(cv->sm[i] - held), *im = i;
}

static double lo_threshold(const venseg_tracker_config *c) { return c->v[VENSEG_TRACKER_NONCOMPRESSIBLE_PERCENT]; }

static venseg_status summarise(const venseg_tracker *t, venseg_track_summary *s)
{
    const venseg_tracker_config *c = &t->cfg;
    const vs_identity *id = &t->id;
    const int n = t->n_recs, win = (int)c->v[VENSEG_TRACKER_SMOOTH_WINDOW];
    const double px = vs_spacing_area(t);
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
    s->vein_track_id = id->vein_id;
    s->artery_track_id = id->artery_id;
    s->verdict_confidence = NAN;
    s->identity_confidence = id->confidence;
    s->medial_side = id->medial_side;
    s->medial_side_source = id->medial_source;
    s->vessel_count = id->n;
    s->identity_frames = id->window;
    uint32_t flags = 0;
    if (isnan(px)) flags |= VENSEG_FLAG_SPACING_UNKNOWN;
    if (n < (int)c->v[VENSEG_TRACKER_MIN_FRAMES]) flags |= VENSEG_FLAG_SEQUENCE_TOO_SHORT;
    if (t->merged_frames) flags |= VENSEG_FLAG_VESSELS_MERGED;
    if (id->conflict) flags |= VENSEG_FLAG_IDENTITY_CONFLICT;
    if (id->vein_id < 0) flags |= VENSEG_FLAG_NO_VEIN;
    if (id->artery_id < 0) flags |= VENSEG_FLAG_NO_ARTERY;
    if (t->n_obs == 0) flags |= VENSEG_FLAG_NO_VESSEL | VENSEG_FLAG_NO_VEIN | VENSEG_FLAG_NO_ARTERY;
    if (id->vein_id >= 0 && !(id->confidence >= c->v[VENSEG_TRACKER_MIN_IDENTITY_CONFIDENCE]))
        flags |= VENSEG_FLAG_IDENTITY_UNCERTAIN;
    if (n == 0) {
        s->flags = flags;
        return VENSEG_OK;
    }
    double *mem = calloc((size_t)n * 7 + 16, sizeof *mem);
    if (!mem) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_tracker_summary: out of memory");
    double *tmp = mem + 2 * n, *tmp2 = mem + 5 * n, *aspect_sm = mem + 6 * n;
    curve cv = {mem, mem + n, -1, 0, 0, NAN, 0, n - 1};
    int ib = -1, im = -1, vein_frames_window = 0;
    double baseline = 0, minimum = 0, sigma_rel = 0;
    if (id->vein_id >= 0) {
        track_curve(t, id->vein_id, &cv, tmp);
        deepest_drop(&cv, n, &ib, &im);
        if (ib >= 0) {
            baseline = cv.sm[ib], minimum = cv.sm[im];
            rest_and_hold(t, &cv, &ib, &im, &baseline, &minimum, tmp, aspect_sm);
        }
        const int w = id->window > 0 && id->window <= n ? id->window : n;
        for (int i = 0; i < w; i++) vein_frames_window += vs_obs_of(t, i, id->vein_id) != NULL;
    }
    if (cv.first >= 0 && baseline > 0) {
        s->baseline_frame = t->recs[ib].frame_index;
        s->min_frame = t->recs[im].frame_index;
        s->baseline_area_px = baseline;
        s->min_area_px = minimum;
        s->baseline_area_mm2 = baseline * px;
        s->min_area_mm2 = minimum * px;
        s->compressibility_percent = (baseline - minimum) / baseline * 100.0;
        if (cv.lost) flags |= VENSEG_FLAG_VEIN_LOST;
        if (cv.dropouts) flags |= VENSEG_FLAG_VEIN_INTERMITTENT;
        /* no release: the vein never reopened to half its baseline after the minimum */
        double after = 0;
        for (int i = im; i < n; i++)
            if (!isnan(cv.sm[i])) after = fmax(after, cv.sm[i]);
        if (after < 0.5 * baseline && s->compressibility_percent > 50) flags |= VENSEG_FLAG_NO_RELEASE;
        /* unstable: typical frame-to-frame jumps like noise, not like a compression */
        int m = 0;
        for (int i = cv.first + 1; i < n; i++)
            if (!isnan(cv.raw[i]) && !isnan(cv.raw[i - 1])) tmp2[m++] = fabs(cv.raw[i] - cv.raw[i - 1]) / baseline;
        if (m >= 4) {
            double med = median_of(tmp2, m);
            if (med > 0.2) flags |= VENSEG_FLAG_UNSTABLE;
        }
        /* measurement noise: robust spread of frame-to-frame changes before compression */
        const int w = id->window > 1 && id->window <= n ? id->window : n;
        m = 0;
        for (int i = cv.first + 1; i < w; i++)
            if (!isnan(cv.raw[i]) && !isnan(cv.raw[i - 1]) && cv.raw[i] > 0 && cv.raw[i - 1] > 0)
                tmp2[m++] = fabs(cv.raw[i] - cv.raw[i - 1]) / baseline;
        sigma_rel = m >= 3 ? 1.4826 * median_of(tmp2, m) / sqrt(2.0) : 0.05;
    } else if (id->vein_id >= 0) {
        flags |= VENSEG_FLAG_NO_VEIN; /* seen, but never open long enough to give a baseline */
    }
    /* artery deformation: drop of its height/width ratio from the period before compression */
    if (id->artery_id >= 0) {
        for (int i = 0; i < n; i++) {
            const vs_obs *a = vs_obs_of(t, i, id->artery_id);
            tmp[i] = a ? a->aspect : NAN;
        }
        running_median(tmp, n, win, aspect_sm);
        const int end = id->window > 2 && id->window <= n ? id->window : (ib >= 0 ? ib + 1 : n);
        int m = 0;
        for (int i = 0; i < n && (i < end || m < 3); i++)
            if (!isnan(aspect_sm[i])) tmp2[m++] = aspect_sm[i];
        double ref = median_of(tmp2, m), low = INFINITY;
        for (int i = 0; i < n; i++)
            if (!isnan(aspect_sm[i]) && aspect_sm[i] < low) low = aspect_sm[i];
        if (ref > 0 && isfinite(low)) s->artery_deformation_percent = fmax(0.0, (ref - low) / ref * 100.0);
        if (!(s->artery_deformation_percent >= c->v[VENSEG_TRACKER_ARTERY_DEFORMATION_PERCENT]))
            flags |= VENSEG_FLAG_ARTERY_NOT_DEFORMED;
    }
    /* a probe flattens the vein: its width holds (or grows) while its area falls; a
     * segmentation that loses the vein shrinks it every way */
    if (cv.first >= 0 && baseline > 0 && s->compressibility_percent >= lo_threshold(c)) {
        const int w = id->window > 0 && id->window <= n ? id->window : n;
        int m = 0;
        for (int i = 0; i < w; i++) {
            const vs_obs *v = vs_obs_of(t, i, id->vein_id);
            if (v) tmp2[m++] = v->width;
        }
        const double ref_width = median_of(tmp2, m);
        m = 0;
        for (int i = cv.phase_lo; i <= cv.phase_hi && i < n; i++) {
            const vs_obs *v = vs_obs_of(t, i, id->vein_id);
            if (v && v->area > 0.15 * baseline && v->area < 0.75 * baseline) tmp2[m++] = v->width / ref_width;
        }
        if (m >= 2 && ref_width > 0 && median_of(tmp2, m) < 0.7) flags |= VENSEG_FLAG_SHRANK_NOT_FLATTENED;
    }
    /* a real compression flattens the artery while the vein shrinks, and both recover */
    s->pressure_correlation = NAN;
    if (id->artery_id >= 0 && cv.first >= 0) {
        double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
        int m = 0;
        for (int i = cv.first; i < n; i++) {
            const double x = cv.sm[i], y = aspect_sm[i];
            if (isnan(x) || isnan(y)) continue;
            sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
            m++;
        }
        const double vx = sxx - sx * sx / fmax(m, 1), vy = syy - sy * sy / fmax(m, 1);
        if (m >= 6 && vx > 0 && vy > 0) s->pressure_correlation = (sxy - sx * sy / m) / sqrt(vx * vy);
    }
    /* probe motion: lateral drift of the reference vessel (the artery, else the vein) */
    {
        const int ref_id = id->artery_id >= 0 ? id->artery_id : id->vein_id;
        int m = 0;
        for (int i = 0; i < n && m < 3 && ref_id >= 0; i++) {
            const vs_obs *b = vs_obs_of(t, i, ref_id);
            if (!b) continue;
            tmp[m] = b->cx;
            tmp2[m] = vs_disc_diameter((double)b->area);
            m++;
        }
        if (m > 0) {
            double x0 = median_of(tmp, m), d0 = median_of(tmp2, m), shift = 0;
            for (int i = 0; i < n; i++) {
                const vs_obs *b = vs_obs_of(t, i, ref_id);
                if (b) shift = fmax(shift, fabs(b->cx - x0));
            }
            s->max_lateral_shift_px = shift;
            if (shift > c->v[VENSEG_TRACKER_MAX_LATERAL_SHIFT] * d0) flags |= VENSEG_FLAG_PROBE_MOVED;
        }
    }
    /* the verdict from the thresholds, where no flag makes it unsafe */
    const uint32_t unsafe = VENSEG_FLAG_NO_VEIN | VENSEG_FLAG_VEIN_LOST | VENSEG_FLAG_SEQUENCE_TOO_SHORT |
                            VENSEG_FLAG_PROBE_MOVED | VENSEG_FLAG_UNSTABLE | VENSEG_FLAG_IDENTITY_UNCERTAIN |
                            VENSEG_FLAG_SHRANK_NOT_FLATTENED;
    const double cp = s->compressibility_percent, hi = c->v[VENSEG_TRACKER_COMPRESSIBLE_PERCENT],
                 lo = c->v[VENSEG_TRACKER_NONCOMPRESSIBLE_PERCENT];
    int verdict = VENSEG_VERDICT_INDETERMINATE;
    double margin = 0;
    if (!isnan(cp)) {
        const int deformed = id->artery_id >= 0 && !(flags & VENSEG_FLAG_ARTERY_NOT_DEFORMED);
        if (cp < lo && !deformed) flags |= VENSEG_FLAG_NO_COMPRESSION;
        const int residual_ok = !isnan(s->min_area_mm2) &&
                                s->min_area_mm2 <= c->v[VENSEG_TRACKER_COMPRESSIBLE_RESIDUAL_MM2] && cp >= lo;
        if (cp >= hi || residual_ok) {
            verdict = VENSEG_VERDICT_COMPRESSIBLE;
            margin = cp >= hi ? cp - hi : hi - lo; /* the residual rule: well inside it */
        } else if (cp >= lo) {
            verdict = VENSEG_VERDICT_PARTIALLY_COMPRESSIBLE;
            margin = fmin(hi - cp, cp - lo);
        } else if (!(flags & VENSEG_FLAG_NO_COMPRESSION) || c->v[VENSEG_TRACKER_REQUIRE_PRESSURE_EVIDENCE] == 0) {
            verdict = VENSEG_VERDICT_NON_COMPRESSIBLE;
            margin = lo - cp;
        }
        /* confidence: identity x segmentation x curve x coverage x distance from the thresholds */
        if (verdict != VENSEG_VERDICT_INDETERMINATE) {
            double seg = 0;
            int m = 0;
            for (int i = 0; i < n; i++) {
                const vs_obs *v = vs_obs_of(t, i, id->vein_id);
                if (v) seg += v->prob_mean, m++;
            }
            seg = m ? fmin(1.0, seg / m / 0.85) : 0;
            double curve_ok = 1.0;
            /* a drop the probe does not explain (the vein shrinks while the artery recovers:
             * a segmentation that fragments, not a compression) */
            if (verdict != VENSEG_VERDICT_NON_COMPRESSIBLE && !isnan(s->pressure_correlation))
                curve_ok *= fmax(0.0, fmin(1.0, (s->pressure_correlation + 0.2) / 0.6));
            if (verdict == VENSEG_VERDICT_COMPRESSIBLE && (flags & VENSEG_FLAG_NO_RELEASE)) curve_ok = 0.75;
            if (verdict != VENSEG_VERDICT_COMPRESSIBLE && !deformed) curve_ok = 0.7;
            const int w = id->window > 0 && id->window <= n ? id->window : n;
            const double coverage = fmin(1.0, (double)vein_frames_window / fmax(1.0, w) / 0.6);
            const double sigma_c = fmax(2.0, 100.0 * sigma_rel);
            const double sharp = 1.0 - 0.5 * exp(-margin / sigma_c);
            const double idc = isnan(id->confidence) ? 0 : id->confidence;
            s->verdict_confidence = idc * seg * curve_ok * coverage * sharp;
        }
        if (flags & unsafe) verdict = VENSEG_VERDICT_INDETERMINATE;
        else if (verdict != VENSEG_VERDICT_INDETERMINATE &&
                 !(s->verdict_confidence >= c->v[VENSEG_TRACKER_MIN_VERDICT_CONFIDENCE])) {
            verdict = VENSEG_VERDICT_INDETERMINATE;
            flags |= VENSEG_FLAG_LOW_CONFIDENCE;
        }
    }
    s->verdict = verdict;
    s->flags = flags;
    free(mem);
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

venseg_status venseg_tracker_summary(const venseg_tracker *t, venseg_track_summary *out)
{
    return venseg_tracker_summary_get(t, out);
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
        scale = vs_spacing_area(t);
        if (isnan(scale)) return vs_fail(VENSEG_E_UNDEFINED, "%s: mm2 asked but the pixel spacing is unknown", fn);
    }
    if (n > capacity)
        return vs_fail(VENSEG_E_BUFFER_TOO_SMALL, "%s: %d analysed frames, capacity %d", fn, n, capacity);
    if (n == 0) return VENSEG_OK;
    double *mem = NULL;
    curve cv = {NULL, NULL, -1, 0, 0, NAN, 0, n - 1};
    if (vein_area_smoothed) { /* the vein's curve alone, not the whole summary */
        mem = malloc((size_t)n * 5 * sizeof *mem + 16);
        if (!mem) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory", fn);
        cv.raw = mem;
        cv.sm = mem + n;
        track_curve(t, t->id.vein_id, &cv, mem + 2 * n);
    }
    for (int i = 0; i < n; i++) {
        const vs_obs *v = vs_obs_of(t, i, t->id.vein_id), *a = vs_obs_of(t, i, t->id.artery_id);
        if (frame_index) frame_index[i] = t->recs[i].frame_index;
        if (vein_area) vein_area[i] = (v ? (double)v->area : 0.0) * scale;
        if (artery_area) artery_area[i] = (a ? (double)a->area : 0.0) * scale;
        if (vein_area_smoothed) vein_area_smoothed[i] = (isnan(cv.sm[i]) ? 0.0 : cv.sm[i]) * scale;
    }
    free(mem);
    return VENSEG_OK;
}
