/* Synthetic B-mode compression phantom of a transverse leg (groin / popliteal fossa):
 * layered tissue, a pulsating artery beside a vein, a probe compression cycle, optional
 * thrombus; speckle from a point-spread model, depth attenuation with TGC, log
 * compression; ground-truth labels and areas. Since 0.2.0 also the nuisances of a real
 * exam (breathing, probe tilt, the vein leaving the plane, decorrelating speckle), all
 * off by default so that default frames stay bit-identical to 0.1. See docs/phantom.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash_rng.h"
#include "core/keyvalue.h"

#define VS_PI 3.14159265358979323846

enum { N_PKEYS = 25, MAX_SEPTA = 10, MAX_STREAKS = 48, MAX_KERNEL = 64 };

static const vs_key_spec phantom_specs[] = {
    {VENSEG_PHANTOM_SEED, "VENSEG_PHANTOM_SEED", 0, 9007199254740992.0, 1, 1},
    {VENSEG_PHANTOM_WIDTH, "VENSEG_PHANTOM_WIDTH", 32, 4096, 256, 1},
    {VENSEG_PHANTOM_HEIGHT, "VENSEG_PHANTOM_HEIGHT", 32, 4096, 256, 1},
    {VENSEG_PHANTOM_FRAMES, "VENSEG_PHANTOM_FRAMES", 1, 100000, 90, 1},
    {VENSEG_PHANTOM_FRAME_RATE, "VENSEG_PHANTOM_FRAME_RATE", 1, 1000, 30, 0},
    {VENSEG_PHANTOM_HEART_RATE, "VENSEG_PHANTOM_HEART_RATE", 0, 240, 72, 0},
    {VENSEG_PHANTOM_THROMBUS, "VENSEG_PHANTOM_THROMBUS", 0, 2, 0, 1},
    {VENSEG_PHANTOM_COMPRESSION, "VENSEG_PHANTOM_COMPRESSION", 0, 1.5, 1, 0},
    {VENSEG_PHANTOM_PROBE_MOTION, "VENSEG_PHANTOM_PROBE_MOTION", 0, 50, 0, 0},
    {VENSEG_PHANTOM_GAIN_DB, "VENSEG_PHANTOM_GAIN_DB", -40, 40, 0, 0},
    {VENSEG_PHANTOM_NOISE, "VENSEG_PHANTOM_NOISE", 0, 1, 0.05, 0},
    {VENSEG_PHANTOM_PIXEL_SPACING, "VENSEG_PHANTOM_PIXEL_SPACING", 0.02, 1, 0.15, 0},
    {VENSEG_PHANTOM_VESSELS, "VENSEG_PHANTOM_VESSELS", 0, 2, 1, 1},
    {VENSEG_PHANTOM_VEIN_SIDE, "VENSEG_PHANTOM_VEIN_SIDE", 0, 2, 0, 1},
    {VENSEG_PHANTOM_VEIN_TO_ARTERY, "VENSEG_PHANTOM_VEIN_TO_ARTERY", 0, 3, 0, 0}, /* 0 or 0.5..3, see _set */
    {VENSEG_PHANTOM_PULSE_AMPLITUDE, "VENSEG_PHANTOM_PULSE_AMPLITUDE", 0, 0.2, 0.06, 0},
    {VENSEG_PHANTOM_RESPIRATION, "VENSEG_PHANTOM_RESPIRATION", 0, 0.5, 0, 0},
    {VENSEG_PHANTOM_RESPIRATORY_RATE, "VENSEG_PHANTOM_RESPIRATORY_RATE", 4, 40, 15, 0},
    {VENSEG_PHANTOM_THROMBUS_AGE, "VENSEG_PHANTOM_THROMBUS_AGE", 0, 1, 0, 1},
    {VENSEG_PHANTOM_PROBE_TILT, "VENSEG_PHANTOM_PROBE_TILT", 0, 30, 0, 0},
    {VENSEG_PHANTOM_OUT_OF_PLANE, "VENSEG_PHANTOM_OUT_OF_PLANE", 0, 1, 0, 1},
    {VENSEG_PHANTOM_DECORRELATION, "VENSEG_PHANTOM_DECORRELATION", 0, 1, 0, 0},
    {VENSEG_PHANTOM_ATTENUATION, "VENSEG_PHANTOM_ATTENUATION", 0, 3, 0.75, 0},
    {VENSEG_PHANTOM_BASELINE_S, "VENSEG_PHANTOM_BASELINE_S", 0, 600, 0, 0},
};
static const vs_key_table phantom_keys = {phantom_specs, sizeof phantom_specs / sizeof phantom_specs[0]};

struct venseg_phantom_config {
    double v[N_PKEYS];
};

venseg_status venseg_phantom_config_create(venseg_phantom_config **out)
{
    void *c = NULL;
    venseg_status st = vs_keys_new("venseg_phantom_config_create", &phantom_keys, sizeof(venseg_phantom_config),
                                   offsetof(venseg_phantom_config, v), out ? &c : NULL);
    if (!st) *out = c;
    return st;
}

void venseg_phantom_config_free(venseg_phantom_config *c) { free(c); }

venseg_status venseg_phantom_config_set(venseg_phantom_config *c, venseg_phantom_key key, double value)
{
    venseg_status st = vs_keys_check("venseg_phantom_config_set", &phantom_keys, c, (int)key, value);
    /* below half the artery's size a vein is no longer a plausible companion vein */
    if (!st && key == VENSEG_PHANTOM_VEIN_TO_ARTERY && value > 0 && value < 0.5)
        st = vs_fail(VENSEG_E_INVALID_ARGUMENT,
                     "venseg_phantom_config_set: VENSEG_PHANTOM_VEIN_TO_ARTERY %g: 0 (seeded) or 0.5..3", value);
    if (!st) c->v[key] = value;
    return st;
}

venseg_status venseg_phantom_config_get(const venseg_phantom_config *c, venseg_phantom_key key, double *value)
{
    return vs_keys_get("venseg_phantom_config_get", &phantom_keys, c ? c->v : NULL, (int)key, value);
}

venseg_status venseg_phantom_config_bounds(venseg_phantom_key key, double *lower, double *upper, double *fallback)
{
    return vs_keys_bounds("venseg_phantom_config_bounds", &phantom_keys, (int)key, lower, upper, fallback);
}

/* ------------------------------------------------------------- randomness */

/* Two independent standard normals from one hash (Box-Muller). */
static void gauss2(uint64_t h, double *g1, double *g2)
{
    double u1 = vs_unit(h), u2 = vs_unit(vs_mix64(h ^ 0x5851f42d4c957f2dull));
    double r = sqrt(-2.0 * log(u1));
    *g1 = r * cos(2 * VS_PI * u2);
    *g2 = r * sin(2 * VS_PI * u2);
}

/* ------------------------------------------------------------- the model */

typedef struct septum { /* a sinuous bright line: z = z0 + amp sin(2 pi x / len + phase), x in [x0, x1] (mm) */
    double z0, amp, len, phase, x0, x1, thick, r;
} septum;

struct venseg_phantom {
    double v[N_PKEYS];
    uint64_t seed;
    int w, h, n;
    double sp;               /* mm per px */
    double depth, width;     /* mm */
    double zb;               /* depth of the rigid floor (bone) below which nothing compresses, mm */
    double d_max;            /* probe indentation at pressure 1, mm */
    double skin, fat, fat_amp, fat_len, fat_phase; /* skin thickness, fat/muscle fascia depth + undulation */
    double deep, deep_amp, deep_phase;              /* a deep intermuscular fascia */
    double xa, za, ra;       /* artery centre and radius at rest, mm (tissue coordinates) */
    double xv, zv, av, bv;   /* vein centre and semi-axes at rest */
    double collapse;         /* fraction of the vein height that can collapse (1 normal) */
    double pulse_phase;
    double resp_phase;       /* radians */
    double base_tau;         /* end of the rest before the press, fraction of the clip; 0: profile() as in 0.1 */
    double oop_t0, oop_len;  /* out-of-plane window, fraction of the clip (len 0: none) */
    int chronic;             /* THROMBUS_AGE 1 with a thrombus */
    septum septa[MAX_SEPTA];
    int n_septa;
    septum streaks[MAX_STREAKS]; /* muscle fascicle echoes */
    int n_streaks;
    struct frame_truth *truth; /* per frame, from the labels */
    double rest_vein_area, min_vein_area;
};

struct frame_truth {
    int64_t vein_area, artery_area;
    double acx, acy, vcx, vcy; /* label centroids, px (pixel centres at +0.5); NaN when absent */
};

/* Geometry of one frame, image coordinates in mm. */
typedef struct geom {
    double pressure, shift, squeeze;          /* squeeze: image z = tissue z * squeeze */
    double ax, az, aa, ab;                    /* artery lumen ellipse */
    double vx, vz, va, vb;                    /* vein lumen ellipse (vb may be 0) */
    double v_bottom, thrombus_top;            /* thrombus fills the vein below thrombus_top */
    double vis;                               /* 1 vein in plane .. 0 out of it (then vein = 0) */
    double spec, dim_db;                      /* probe tilt: specular echo factor, overall dB */
    int artery, vein;
} geom;

/* What frame_geometry models: the frame as rendered, the anatomy at rest (no pressure,
 * no slide), or only what the probe pressure does (for the true compressibility:
 * breathing, tilt and out-of-plane frames are not compression). */
enum { GEOM_FRAME, GEOM_REST, GEOM_PRESSURE };

static double profile(double tau)
{
    /* baseline, press, hold, release, rest */
    if (tau < 0.2 || tau >= 0.85) return 0.0;
    if (tau < 0.4) return 0.5 - 0.5 * cos(VS_PI * (tau - 0.2) / 0.2);
    if (tau < 0.65) return 1.0;
    return 0.5 + 0.5 * cos(VS_PI * (tau - 0.65) / 0.2);
}

/* profile() after a rest of base_tau: press, hold, release and rest keep their proportions. */
static double pressure_profile(const venseg_phantom *p, double tau)
{
    if (p->base_tau <= 0) return profile(tau);
    if (p->base_tau >= 1 || tau < p->base_tau) return 0.0;
    return profile(0.2 + 0.8 * (tau - p->base_tau) / (1.0 - p->base_tau));
}

/* How much of the vein section is in the imaging plane at tau: 1, or inside the
 * out-of-plane window a raised-cosine fade out (30 %), gone (40 %), back (30 %). */
static double in_plane(const venseg_phantom *p, double tau)
{
    if (p->oop_len <= 0) return 1.0;
    double x = (tau - p->oop_t0) / p->oop_len;
    if (x <= 0 || x >= 1) return 1.0;
    if (x < 0.3) return 0.5 + 0.5 * cos(VS_PI * x / 0.3);
    if (x < 0.7) return 0.0;
    return 0.5 - 0.5 * cos(VS_PI * (x - 0.7) / 0.3);
}

static void frame_geometry(const venseg_phantom *p, int index, int mode, geom *g)
{
    const double fps = p->v[VENSEG_PHANTOM_FRAME_RATE], t = index / fps, total = p->n / fps;
    const double tau = p->n > 1 ? (double)index / (p->n - 1) : 0.0;
    const int rest = mode == GEOM_REST, frame = mode == GEOM_FRAME;
    memset(g, 0, sizeof *g);
    g->pressure = rest ? 0.0 : p->v[VENSEG_PHANTOM_COMPRESSION] * pressure_profile(p, tau);
    g->shift = rest ? 0.0 : p->v[VENSEG_PHANTOM_PROBE_MOTION] * 0.5 * (1 - cos(VS_PI * t / total));
    const double d = g->pressure * p->d_max;
    g->squeeze = (p->zb - d) / p->zb;
    const int vessels = (int)p->v[VENSEG_PHANTOM_VESSELS];
    g->artery = vessels >= 1;
    g->vein = vessels == 1;
    g->vis = 1.0;
    g->spec = 1.0;
    /* nuisances of a real exam (each exactly neutral at its default) */
    double stretch = 1.0, sv = 1.0;
    const double tilt_max = p->v[VENSEG_PHANTOM_PROBE_TILT], resp = p->v[VENSEG_PHANTOM_RESPIRATION];
    if (frame && tilt_max > 0) {
        /* the probe tilts up to the peak mid-clip and back: an oblique section is
         * longer by 1/cos laterally, and oblique interfaces return less */
        double c = cos(tilt_max * (VS_PI / 180.0) * (0.5 - 0.5 * cos(2 * VS_PI * tau)));
        stretch = 1.0 / c;
        g->spec = c * c * c * c;
        g->dim_db = 20.0 * log10(c);
    }
    if (frame && resp > 0) /* area x (1 + resp/2 sin): resp is the peak-to-peak share */
        sv = sqrt(1.0 + 0.5 * resp * sin(2 * VS_PI * t * p->v[VENSEG_PHANTOM_RESPIRATORY_RATE] / 60.0 + p->resp_phase));
    if (frame && g->vein) {
        g->vis = in_plane(p, tau);
        if (g->vis <= 0) g->vein = 0;
        sv *= g->vis;
    }
    const double k = fmin(1.0, g->pressure / 0.75); /* share of the collapse reached */
    /* artery: systolic pulse of the radius, flattened by pressure ("wink") */
    const double hr = p->v[VENSEG_PHANTOM_HEART_RATE];
    double ph = hr > 0 ? fmod(t * hr / 60.0 + p->pulse_phase, 1.0) : 0.5;
    double pulse = ph < 0.35 ? sin(VS_PI * ph / 0.35) : 0.0;
    double r = p->ra * (1.0 + p->v[VENSEG_PHANTOM_PULSE_AMPLITUDE] * pulse * (hr > 0));
    double pa = fmin(g->pressure, 1.2);
    g->aa = r * (1.0 + 0.10 * pa) * stretch;
    g->ab = r * (1.0 - 0.28 * pa);
    g->ax = p->xa - g->shift;
    g->az = p->za * g->squeeze + (r - g->ab) * 0.3;
    /* vein: the anterior wall moves onto the posterior one */
    const double av = p->av * sv, bv = p->bv * sv; /* this frame's section at rest */
    double c = p->collapse * k;
    g->vb = bv * (1.0 - c);
    g->va = av * (1.0 + 0.25 * c) * stretch;
    g->v_bottom = (p->zv + bv) * g->squeeze;
    g->vz = g->v_bottom - g->vb;
    g->vx = p->xv - g->shift;
    int thrombus = (int)p->v[VENSEG_PHANTOM_THROMBUS];
    g->thrombus_top = thrombus == 0 ? INFINITY : thrombus == 2 ? -INFINITY
                                                                : g->v_bottom - 2.0 * bv * (1.0 - p->collapse) - 0.2;
}

static int in_ellipse(double x, double z, double cx, double cz, double a, double b)
{
    if (a <= 0 || b <= 0) return 0;
    double u = (x - cx) / a, v = (z - cz) / b;
    return u * u + v * v < 1.0;
}

/* Normalised radius of (x, z) in an ellipse (1 on the boundary). */
static double ellipse_r(double x, double z, double cx, double cz, double a, double b)
{
    double u = (x - cx) / fmax(a, 1e-6), v = (z - cz) / fmax(b, 1e-6);
    return sqrt(u * u + v * v);
}

/* 1 artery, 2 vein, 0 else, at pixel (i, j). */
static int label_at(const venseg_phantom *p, const geom *g, int i, int j)
{
    double x = (i + 0.5) * p->sp, z = (j + 0.5) * p->sp;
    if (g->artery && in_ellipse(x, z, g->ax, g->az, g->aa, g->ab)) return 1;
    if (g->vein && in_ellipse(x, z, g->vx, g->vz, g->va, g->vb)) return 2;
    return 0;
}

/* Labels (nullable) and their areas and centroids (ft nullable). */
static void rasterize(const venseg_phantom *p, const geom *g, uint8_t *labels, int64_t stride,
                      struct frame_truth *ft)
{
    int64_t na = 0, nv = 0;
    double ax = 0, ay = 0, vx = 0, vy = 0;
    for (int j = 0; j < p->h; j++)
        for (int i = 0; i < p->w; i++) {
            int l = label_at(p, g, i, j);
            if (l == 1) na++, ax += i + 0.5, ay += j + 0.5;
            if (l == 2) nv++, vx += i + 0.5, vy += j + 0.5;
            if (labels) labels[(int64_t)j * stride + i] = (uint8_t)l;
        }
    if (!ft) return;
    ft->artery_area = na;
    ft->vein_area = nv;
    ft->acx = na ? ax / (double)na : NAN;
    ft->acy = na ? ay / (double)na : NAN;
    ft->vcx = nv ? vx / (double)nv : NAN;
    ft->vcy = nv ? vy / (double)nv : NAN;
}

/* Smooth value noise in [-1, 1] on a grid of `cell` mm. */
static double value_noise(uint64_t seed, double x, double z, double cell, uint64_t salt)
{
    double gx = x / cell, gz = z / cell;
    double fx = floor(gx), fz = floor(gz), tx = gx - fx, tz = gz - fz;
    int64_t ix = (int64_t)fx, iz = (int64_t)fz;
    double v00 = 2 * vs_unit(vs_hash4(seed, salt, (uint64_t)ix, (uint64_t)iz)) - 1;
    double v10 = 2 * vs_unit(vs_hash4(seed, salt, (uint64_t)(ix + 1), (uint64_t)iz)) - 1;
    double v01 = 2 * vs_unit(vs_hash4(seed, salt, (uint64_t)ix, (uint64_t)(iz + 1))) - 1;
    double v11 = 2 * vs_unit(vs_hash4(seed, salt, (uint64_t)(ix + 1), (uint64_t)(iz + 1))) - 1;
    tx = tx * tx * (3 - 2 * tx);
    tz = tz * tz * (3 - 2 * tz);
    return (v00 * (1 - tx) + v10 * tx) * (1 - tz) + (v01 * (1 - tx) + v11 * tx) * tz;
}

static double line_weight(const septum *s, double x, double z)
{
    if (x < s->x0 || x > s->x1) return 0.0;
    double zc = s->z0 + s->amp * sin(2 * VS_PI * x / s->len + s->phase);
    double d = (z - zc) / s->thick;
    /* taper at the ends */
    double e = fmin(x - s->x0, s->x1 - x) / fmax(0.5, 0.15 * (s->x1 - s->x0));
    return exp(-0.5 * d * d) * fmin(1.0, e);
}

/* Backscatter intensity (echogenicity, linear) and a lumen indicator (for attenuation). */
static double echogenicity(const venseg_phantom *p, const geom *g, double x, double z, int *fluid)
{
    *fluid = 0;
    /* vessels, in image coordinates */
    if (g->artery) {
        double r = ellipse_r(x, z, g->ax, g->az, g->aa, g->ab);
        double wall = 0.7 / fmax(g->aa, 1e-6); /* ~0.7 mm thick wall, in normalised radius */
        if (r < 1.0) {
            *fluid = 1;
            return 0.02;
        }
        if (r < 1.0 + wall) {
            double u = (r - 1.0) / wall; /* intima bright, adventitia brightest */
            return 25.0 + 40.0 * u;
        }
    }
    if (g->vein) {
        double vb = fmax(g->vb, 0.0);
        double r = ellipse_r(x, z, g->vx, g->vz, g->va, vb > 1e-3 ? vb : 1e-3);
        /* leaving the plane, the section fills with the partial volume of the tissue around it */
        const double fade = 1.0 - g->vis, tissue = 0.45 * fade;
        if (vb > 1e-3 && r < 1.0) {
            if (z >= g->thrombus_top) {
                double n = value_noise(p->seed, x - g->vx, z - g->v_bottom, 0.8, 77);
                if (p->chronic) { /* organised: bright, coarse and heterogeneous */
                    double n2 = value_noise(p->seed, x - g->vx, z - g->v_bottom, 0.3, 78);
                    return (1.1 * exp(0.9 * n + 0.5 * n2)) * g->vis + tissue;
                }
                /* acute: faint, a few dB above the blood */
                double e = 0.16 * exp(0.8 * n);
                return fade > 0 ? e * g->vis + tissue : e;
            }
            *fluid = g->vis > 0.5;
            return fade > 0 ? 0.025 * g->vis + tissue : 0.025;
        }
        /* thin wall: ~0.25 mm around the lumen (a bright line when collapsed); a chronic
         * thrombus thickens it */
        const double wall = p->chronic ? 0.5 : 0.25;
        double dx = (x - g->vx) / (g->va + wall), dz = (z - g->vz) / (vb + wall);
        if (dx * dx + dz * dz < 1.0) return fade > 0 ? 8.0 * g->vis + tissue : 8.0;
    }
    /* tissue, in tissue coordinates */
    const double tx = x + g->shift, tz = z / g->squeeze;
    double fat_z = p->fat + p->fat_amp * sin(2 * VS_PI * tx / p->fat_len + p->fat_phase);
    double deep_z = p->deep + p->deep_amp * sin(2 * VS_PI * tx / (1.7 * p->fat_len) + p->deep_phase);
    double r;
    if (tz < 0.35) r = 0.4;                 /* coupling gel / epidermis entry */
    else if (tz < p->skin) r = 12.0;        /* dermis: bright */
    else if (tz < fat_z) r = 0.22;          /* subcutaneous fat: dark */
    else r = 0.55;                          /* muscle */
    double het = value_noise(p->seed, tx, tz, 2.5, 11) * 0.45 + value_noise(p->seed, tx, tz, 0.9, 12) * 0.25;
    r *= exp(het);
    /* fascia: bright specular interfaces */
    double df = (tz - fat_z) / 0.28, dd = (tz - deep_z) / 0.35;
    const double diffuse = r;
    r += 60.0 * exp(-0.5 * df * df) * (0.6 + 0.4 * value_noise(p->seed, tx, 0, 3.0, 13));
    r += 30.0 * exp(-0.5 * dd * dd) * (0.5 + 0.5 * value_noise(p->seed, tx, 0, 4.0, 14));
    for (int i = 0; i < p->n_septa; i++) r += p->septa[i].r * line_weight(&p->septa[i], tx, tz);
    if (tz > fat_z)
        for (int i = 0; i < p->n_streaks; i++) r += p->streaks[i].r * line_weight(&p->streaks[i], tx, tz);
    /* a tilted probe meets these interfaces obliquely: they return less */
    if (g->spec != 1.0) r = diffuse + (r - diffuse) * g->spec;
    /* perivascular fat around the vessels: slightly darker halo */
    if (g->artery || g->vein) {
        double ra = g->artery ? ellipse_r(x, z, g->ax, g->az, g->aa + 2.0, g->ab + 2.0) : 9;
        double rv = g->vein ? ellipse_r(x, z, g->vx, g->vz, g->va + 2.0, fmax(g->vb, 0) + 2.0) : 9;
        if (ra < 1.0 || rv < 1.0) r *= 0.75;
    }
    return r;
}

venseg_status venseg_phantom_create(const venseg_phantom_config *config, venseg_phantom **out)
{
    vs_clear_error();
    if (!out) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_phantom_create: out is NULL");
    venseg_phantom *p = calloc(1, sizeof *p);
    if (!p) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_phantom_create: out of memory");
    if (config) memcpy(p->v, config->v, sizeof p->v);
    else vs_keys_defaults(&phantom_keys, p->v);
    p->seed = (uint64_t)p->v[VENSEG_PHANTOM_SEED];
    p->w = (int)p->v[VENSEG_PHANTOM_WIDTH];
    p->h = (int)p->v[VENSEG_PHANTOM_HEIGHT];
    p->n = (int)p->v[VENSEG_PHANTOM_FRAMES];
    p->sp = p->v[VENSEG_PHANTOM_PIXEL_SPACING];
    p->width = p->w * p->sp;
    p->depth = p->h * p->sp;
    vs_rng r = {vs_mix64(p->seed ^ 0x243f6a8885a308d3ull)};
    /* layers scale with the field of view, sizes are anatomical (mm) */
    const double D = p->depth, W = p->width;
    p->skin = vs_rng_uniform(&r, 1.2, 2.0);
    p->fat = fmin(vs_rng_uniform(&r, 0.14, 0.24) * D, 12.0);
    p->fat_amp = vs_rng_uniform(&r, 0.3, 1.2);
    p->fat_len = vs_rng_uniform(&r, 0.6, 1.4) * W;
    p->fat_phase = vs_rng_uniform(&r, 0, 2 * VS_PI);
    p->deep = vs_rng_uniform(&r, 0.72, 0.85) * D;
    p->deep_amp = vs_rng_uniform(&r, 0.5, 1.5);
    p->deep_phase = vs_rng_uniform(&r, 0, 2 * VS_PI);
    p->zb = D * 1.15;
    p->d_max = 0.12 * D;
    p->ra = vs_rng_uniform(&r, 3.0, 4.0);
    p->av = vs_rng_uniform(&r, 4.3, 5.8);
    p->bv = vs_rng_uniform(&r, 2.8, 3.8);
    const double ratio = p->v[VENSEG_PHANTOM_VEIN_TO_ARTERY];
    if (ratio > 0) { /* equivalent diameters 2 sqrt(av bv) : 2 ra, the vein's aspect kept */
        const double f = ratio * p->ra / sqrt(p->av * p->bv);
        p->av *= f;
        p->bv *= f;
    }
    p->za = vs_rng_uniform(&r, 0.40, 0.50) * D;
    p->xa = vs_rng_uniform(&r, 0.38, 0.62) * W;
    double side = vs_rng_uniform(&r, 0, 1) < 0.5 ? -1.0 : 1.0;
    double gap = p->ra + p->av + vs_rng_uniform(&r, 0.8, 2.0);
    const int want_side = (int)p->v[VENSEG_PHANTOM_VEIN_SIDE];
    if (want_side) side = want_side == 1 ? -1.0 : 1.0;
    else if (p->xa + side * gap + p->av > W - 1 || p->xa + side * gap - p->av < 1) side = -side;
    if (want_side || ratio > 0) { /* imposed side or size: slide the pair into the image (centred if too wide) */
        double lo = fmin(p->xa - p->ra, p->xa + side * gap - p->av), hi = fmax(p->xa + p->ra, p->xa + side * gap + p->av);
        if (hi - lo > W - 2) p->xa += 0.5 * W - 0.5 * (lo + hi);
        else if (lo < 1) p->xa += 1 - lo;
        else if (hi > W - 1) p->xa -= hi - (W - 1);
    }
    p->xv = p->xa + side * gap;
    p->zv = p->za + vs_rng_uniform(&r, -1.0, 1.5);
    p->pulse_phase = vs_rng_uniform(&r, 0, 1);
    /* how much of the vein can collapse, from a target compressibility */
    int thrombus = (int)p->v[VENSEG_PHANTOM_THROMBUS];
    double target = thrombus == 0 ? 1.0 : thrombus == 1 ? vs_rng_uniform(&r, 0.40, 0.72) : vs_rng_uniform(&r, 0.0, 0.12);
    /* area ratio (1 - c)(1 + 0.25 c) = 1 - target */
    p->collapse = thrombus == 0 ? 1.0 : (-0.75 + sqrt(0.5625 + target)) / 0.5;
    p->n_septa = 3 + (int)vs_rng_uniform(&r, 0, MAX_SEPTA - 3);
    for (int i = 0; i < p->n_septa; i++) {
        septum *s = &p->septa[i];
        s->z0 = vs_rng_uniform(&r, p->skin + 0.8, fmax(p->skin + 1.0, p->fat - 0.8));
        s->amp = vs_rng_uniform(&r, 0.1, 0.8);
        s->len = vs_rng_uniform(&r, 8, 30);
        s->phase = vs_rng_uniform(&r, 0, 2 * VS_PI);
        s->x0 = vs_rng_uniform(&r, -0.3, 0.7) * W;
        s->x1 = s->x0 + vs_rng_uniform(&r, 0.15, 0.6) * W;
        s->thick = vs_rng_uniform(&r, 0.06, 0.14);
        s->r = vs_rng_uniform(&r, 10.0, 50.0);
    }
    p->n_streaks = 10 + (int)vs_rng_uniform(&r, 0, MAX_STREAKS / 2);
    for (int i = 0; i < p->n_streaks; i++) {
        septum *s = &p->streaks[i];
        s->z0 = vs_rng_uniform(&r, p->fat + 1.0, D * 1.1);
        s->amp = vs_rng_uniform(&r, 0.1, 0.6);
        s->len = vs_rng_uniform(&r, 10, 40);
        s->phase = vs_rng_uniform(&r, 0, 2 * VS_PI);
        s->x0 = vs_rng_uniform(&r, -0.1, 1.0) * W;
        s->x1 = s->x0 + vs_rng_uniform(&r, 2.5, 12.0);
        s->thick = vs_rng_uniform(&r, 0.05, 0.10);
        s->r = vs_rng_uniform(&r, 20.0, 120.0);
    }
    /* 0.2.0 keys draw from their own stream: the 0.1 anatomy of a seed stays as it was */
    vs_rng r2 = {vs_mix64(p->seed ^ 0x13198a2e03707344ull)};
    p->resp_phase = vs_rng_uniform(&r2, 0, 2 * VS_PI);
    p->chronic = thrombus != 0 && p->v[VENSEG_PHANTOM_THROMBUS_AGE] >= 1;
    const double fps = p->v[VENSEG_PHANTOM_FRAME_RATE], base_s = p->v[VENSEG_PHANTOM_BASELINE_S];
    p->base_tau = base_s <= 0 ? 0.0 : p->n > 1 ? base_s * fps / (p->n - 1) : 1.0;
    if (p->v[VENSEG_PHANTOM_OUT_OF_PLANE] >= 1 && p->n > 1) {
        /* the window lies where there is no pressure, after the release (release ends at
         * 85 % of profile()), so that the compression itself stays measurable; before the
         * press when the clip ends too soon after the release */
        const double press = p->base_tau > 0 ? fmin(p->base_tau, 1.0) : 0.2;
        const double release = p->base_tau >= 1 ? 1.0 : p->base_tau > 0 ? p->base_tau + 0.8125 * (1.0 - p->base_tau) : 0.85;
        double lo = release, hi = 1.0;
        if (1.0 - release < 0.05) lo = 0.0, hi = press;
        const double len = fmin(vs_rng_uniform(&r2, 0.10, 0.20), 0.9 * (hi - lo));
        p->oop_len = len;
        p->oop_t0 = lo + vs_rng_uniform(&r2, 0.2, 0.8) * (hi - lo - len);
    }
    /* ground truth of every frame */
    p->truth = malloc((size_t)p->n * sizeof *p->truth);
    if (!p->truth) {
        venseg_phantom_free(p);
        return vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_phantom_create: out of memory");
    }
    geom g;
    struct frame_truth ft;
    frame_geometry(p, 0, GEOM_REST, &g);
    rasterize(p, &g, NULL, 0, &ft);
    p->rest_vein_area = (double)ft.vein_area;
    p->min_vein_area = INFINITY;
    /* the true compressibility is what the pressure does: with breathing, tilt or an
     * out-of-plane window the minimum comes from the pressure-only geometry, and frames
     * out of the plane do not count */
    const int nuisance = p->v[VENSEG_PHANTOM_RESPIRATION] > 0 || p->v[VENSEG_PHANTOM_PROBE_TILT] > 0 || p->oop_len > 0;
    for (int i = 0; i < p->n; i++) {
        frame_geometry(p, i, GEOM_FRAME, &g);
        rasterize(p, &g, NULL, 0, &p->truth[i]);
        double a = (double)p->truth[i].vein_area;
        if (nuisance) {
            const double tau = p->n > 1 ? (double)i / (p->n - 1) : 0.0;
            if (in_plane(p, tau) < 1.0) continue;
            frame_geometry(p, i, GEOM_PRESSURE, &g);
            rasterize(p, &g, NULL, 0, &ft);
            a = (double)ft.vein_area;
        }
        if (a < p->min_vein_area) p->min_vein_area = a;
    }
    if (p->min_vein_area == INFINITY) p->min_vein_area = p->rest_vein_area;
    *out = p;
    return VENSEG_OK;
}

void venseg_phantom_free(venseg_phantom *p)
{
    if (!p) return;
    free(p->truth);
    free(p);
}

/* A normalised Gaussian kernel of standard deviation s px: radius returned, taps in k. */
/* Index q of an n-sample line mirrored at its ends (-1 -> 0); -1 when still outside. */
static int reflect(int q, int n)
{
    if (q < 0) q = -q - 1;
    if (q >= n) q = 2 * n - q - 1;
    return q < 0 || q >= n ? -1 : q;
}

static int gauss_kernel(double s, double *k)
{
    int r = (int)ceil(3.0 * s);
    if (r < 1) r = 1;
    if (r > MAX_KERNEL / 2 - 1) r = MAX_KERNEL / 2 - 1;
    double sum = 0;
    for (int i = -r; i <= r; i++) sum += (k[i + r] = exp(-0.5 * i * i / (s * s)));
    double norm = 0;
    for (int i = 0; i <= 2 * r; i++) {
        k[i] /= sum;
        norm += k[i] * k[i];
    }
    for (int i = 0; i <= 2 * r; i++) k[i] /= sqrt(norm); /* unit energy: speckle power = echogenicity */
    return r;
}

/* Lateral (per row, depth-dependent width) then axial Gaussian filtering of a complex
 * field; returns |.|^2 added into acc. */
static void psf_intensity(const venseg_phantom *p, const float *re, const float *im, float *t1, float *t2, float *acc)
{
    const int w = p->w, h = p->h;
    double k[MAX_KERNEL];
    const double focus = 0.45 * p->depth;
    for (int j = 0; j < h; j++) {
        double z = (j + 0.5) * p->sp;
        double sx = 0.42 * (1.0 + 0.9 * fabs(z - focus) / p->depth) / p->sp;
        int r = gauss_kernel(sx, k);
        const float *rr = re + (size_t)j * w, *ii = im + (size_t)j * w;
        float *o1 = t1 + (size_t)j * w, *o2 = t2 + (size_t)j * w;
        for (int i = 0; i < w; i++) {
            double a = 0, b = 0;
            for (int t = -r; t <= r; t++) {
                const int q = reflect(i + t, w);
                if (q < 0) continue;
                a += k[t + r] * rr[q];
                b += k[t + r] * ii[q];
            }
            o1[i] = (float)a;
            o2[i] = (float)b;
        }
    }
    int ra = gauss_kernel(0.12 / p->sp, k);
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            double a = 0, b = 0;
            for (int t = -ra; t <= ra; t++) {
                const int q = reflect(j + t, h);
                if (q < 0) continue;
                a += k[t + ra] * t1[(size_t)q * w + i];
                b += k[t + ra] * t2[(size_t)q * w + i];
            }
            acc[(size_t)j * w + i] += (float)(a * a + b * b);
        }
}

enum { COMPOUND = 3 }; /* spatial compounding: independent speckle looks averaged */

venseg_status venseg_phantom_frame(const venseg_phantom *p, int32_t index, uint8_t *pixels, int64_t pixel_stride,
                                   uint8_t *labels, int64_t label_stride)
{
    vs_clear_error();
    static const char fn[] = "venseg_phantom_frame";
    if (!p) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: phantom is NULL", fn);
    if (index < 0 || index >= p->n)
        return vs_fail(VENSEG_E_NOT_FOUND, "%s: frame %d outside [0, %d)", fn, index, p->n);
    if ((pixels && pixel_stride < p->w) || (labels && label_stride < p->w))
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: row stride %lld < width %d", fn,
                       (long long)(pixels && pixel_stride < p->w ? pixel_stride : label_stride), p->w);
    geom g;
    frame_geometry(p, index, GEOM_FRAME, &g);
    if (labels) rasterize(p, &g, labels, label_stride, NULL);
    if (!pixels) return VENSEG_OK;

    const int w = p->w, h = p->h;
    const size_t plane = (size_t)w * h;
    float *buf = malloc(plane * 6 * sizeof *buf);
    uint8_t *fluid = malloc(plane);
    double *att = malloc((size_t)w * sizeof *att);
    if (!buf || !fluid || !att) {
        free(buf), free(fluid), free(att);
        return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory for a %d x %d frame", fn, w, h);
    }
    float *echo = buf, *re = buf + plane, *im = buf + 2 * plane, *t1 = buf + 3 * plane, *t2 = buf + 4 * plane,
          *acc = buf + 5 * plane;
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            int fl;
            echo[(size_t)j * w + i] = (float)echogenicity(p, &g, (i + 0.5) * p->sp, (j + 0.5) * p->sp, &fl);
            fluid[(size_t)j * w + i] = (uint8_t)fl;
            acc[(size_t)j * w + i] = 0.0f;
        }
    /* Scatterers: complex Gaussian amplitudes fixed to the tissue (they move with it),
     * scaled by the square root of the local echogenicity, convolved with the point-spread
     * function. The PSF is the complex baseband of a Gaussian-modulated cosine pulse:
     * for scatterers of uniformly random phase the carrier only rotates phases, so the
     * envelope of the RF convolution has the statistics of the modulus of this one
     * (Rayleigh speckle). Axial sigma ~0.12 mm; lateral ~0.42 mm at the focus, wider
     * away from it. COMPOUND steered looks with independent speckle are averaged.
     * DECORRELATION d mixes in a field drawn for this frame alone, sqrt(1-d) a + sqrt(d) b:
     * the same variance, and a correlation of 1 - d between the amplitudes of two frames
     * (out-of-plane motion, tissue deformation) without a recursion over frames. */
    const double decor = p->v[VENSEG_PHANTOM_DECORRELATION], keep = sqrt(1.0 - decor), renew = sqrt(decor);
    for (int look = 0; look < COMPOUND; look++) {
        for (int j = 0; j < h; j++)
            for (int i = 0; i < w; i++) {
                double x = (i + 0.5) * p->sp, z = (j + 0.5) * p->sp;
                double tx = x + g.shift, tz = z / g.squeeze;
                uint64_t hc = vs_hash4(p->seed, 0x5ca7 + (uint64_t)look, (uint64_t)(int64_t)floor(tx / p->sp),
                                    (uint64_t)(int64_t)floor(tz / p->sp));
                double g1, g2;
                gauss2(hc, &g1, &g2);
                if (decor > 0) { /* renewed share: O(1) per frame, any order */
                    double h1, h2;
                    gauss2(vs_hash4(p->seed, 0xdec0 + (uint64_t)look, (uint64_t)index, (uint64_t)j * (uint64_t)w + (uint64_t)i),
                           &h1, &h2);
                    g1 = keep * g1 + renew * h1;
                    g2 = keep * g2 + renew * h2;
                }
                double a = sqrt(echo[(size_t)j * w + i] / 2.0);
                re[(size_t)j * w + i] = (float)(a * g1);
                im[(size_t)j * w + i] = (float)(a * g2);
            }
        psf_intensity(p, re, im, t1, t2, acc);
    }
    /* depth attenuation (less through fluid: posterior acoustic enhancement), TGC that
     * compensates most of it, electronic noise, log compression */
    const double atten_db_mm = p->v[VENSEG_PHANTOM_ATTENUATION], tgc_db_mm = atten_db_mm - 0.13, lumen_db_mm = 0.03;
    const double gain = p->v[VENSEG_PHANTOM_GAIN_DB], noise = p->v[VENSEG_PHANTOM_NOISE];
    const double dyn_range = 50.0, ref_db = 10.0 * log10(0.55); /* muscle echo level */
    for (int i = 0; i < w; i++) att[i] = 0;
    for (int j = 0; j < h; j++) {
        double z = (j + 0.5) * p->sp;
        for (int i = 0; i < w; i++) {
            att[i] += (fluid[(size_t)j * w + i] ? lumen_db_mm : atten_db_mm) * p->sp;
            double g_db = gain + tgc_db_mm * z - att[i] - 3.0 * exp(-z / 1.5);
            if (g.dim_db != 0) g_db += g.dim_db;
            double n1, n2;
            gauss2(vs_hash4(p->seed, 0xe1ec, (uint64_t)index, (uint64_t)j * (uint64_t)w + (uint64_t)i), &n1, &n2);
            double intensity = acc[(size_t)j * w + i] / COMPOUND * pow(10.0, g_db / 10.0) +
                               noise * noise * 0.55 * 0.5 * (n1 * n1 + n2 * n2);
            double db = 10.0 * log10(intensity + 1e-12) - ref_db;
            double grey = 10.0 + 245.0 * (db + 0.10 * dyn_range) / dyn_range; /* pedestal 10 */
            grey = grey < 0 ? 0 : grey > 255 ? 255 : grey;
            pixels[(int64_t)j * pixel_stride + i] = (uint8_t)(grey + 0.5);
        }
    }
    free(att);
    free(buf);
    free(fluid);
    return VENSEG_OK;
}

venseg_status venseg_phantom_truth_at(const venseg_phantom *p, int32_t index, venseg_phantom_truth *out)
{
    venseg_status st = vs_item_check("venseg_phantom_truth_at", p, "phantom", out, index, p ? p->n : 0);
    if (st) return st;
    geom g;
    frame_geometry(p, index, GEOM_FRAME, &g);
    const struct frame_truth *ft = &p->truth[index];
    venseg_phantom_truth t;
    memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    const double mm2 = p->sp * p->sp;
    t.vein_area_px = ft->vein_area;
    t.artery_area_px = ft->artery_area;
    t.vein_area_mm2 = (double)t.vein_area_px * mm2;
    t.artery_area_mm2 = (double)t.artery_area_px * mm2;
    t.pressure = g.pressure;
    t.rest_vein_area_px = p->rest_vein_area;
    t.min_vein_area_px = p->min_vein_area;
    t.true_compressibility_percent =
        p->rest_vein_area > 0 ? (p->rest_vein_area - p->min_vein_area) / p->rest_vein_area * 100.0 : NAN;
    t.thrombus = (int32_t)p->v[VENSEG_PHANTOM_THROMBUS];
    /* the anatomy's side, also while the vein is collapsed or out of the plane */
    t.vein_side = p->v[VENSEG_PHANTOM_VESSELS] == 1 ? (p->xv < p->xa ? -1 : 1) : 0;
    t.vein_visible = g.vein;
    t.artery_centroid_x = ft->acx;
    t.artery_centroid_y = ft->acy;
    t.vein_centroid_x = ft->vcx;
    t.vein_centroid_y = ft->vcy;
    t.heart_rate_bpm = p->v[VENSEG_PHANTOM_HEART_RATE];
    vs_struct_copy(out, &t, sizeof t);
    return VENSEG_OK;
}

/* ABI 1 name (alias) */
venseg_status venseg_phantom_truth_get(const venseg_phantom *p, int32_t index, venseg_phantom_truth *out)
{
    return venseg_phantom_truth_at(p, index, out);
}
