/* Segmentation metrics with the conventions of the libraries users already trust:
 * Dice/Jaccard (MONAI or segmentation_models empty-mask rules), SSIM (scikit-image),
 * surface distances (MONAI), and Chen et al.'s compressibility. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

enum { MAX_SIDE = 1 << 16 };

static venseg_status check_image(const char *fn, const void *a, int64_t as, const void *b, int64_t bs, int32_t w,
                                 int32_t h, size_t elem)
{
    if (!a || !b) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: image pointer is NULL", fn);
    if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: size %d x %d outside [1, %d]", fn, w, h, MAX_SIDE);
    if (as < w || bs < w)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: row stride %lld is smaller than the width %d", fn,
                       (long long)(as < bs ? as : bs), w);
    if (as > INT64_MAX / (int64_t)elem / h || bs > INT64_MAX / (int64_t)elem / h)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: row stride overflows", fn);
    return VENSEG_OK;
}

static int in_set(uint32_t set, uint8_t v) { return v < 32 && ((set >> v) & 1u); }

/* Adds one row to the counts; pos[x] says whether the prediction is positive. */
static void tally_row(const uint8_t *pos, const uint8_t *t, uint32_t truth_labels, uint32_t ignore_labels, int32_t w,
                      int64_t counts[3])
{
    for (int32_t x = 0; x < w; x++) {
        if (in_set(ignore_labels, t[x])) continue;
        int a = pos[x], b = in_set(truth_labels, t[x]);
        counts[0] += a && b;
        counts[1] += a && !b;
        counts[2] += !a && b;
    }
}

/* Counts with the prediction row y made positive/negative by the caller's rule. */
typedef void (*positive_row)(const void *pred, int64_t stride, int32_t y, int32_t w, const void *arg, uint8_t *pos);

static venseg_status count(const char *fn, const void *pred, int64_t pred_stride, size_t elem, positive_row rule,
                           const void *arg, const uint8_t *truth, int64_t truth_stride, uint32_t truth_labels,
                           uint32_t ignore_labels, int32_t width, int32_t height, int64_t counts[3])
{
    venseg_status st = check_image(fn, pred, pred_stride, truth, truth_stride, width, height, elem);
    if (st) return st;
    if (!counts) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: counts is NULL", fn);
    uint8_t *pos = malloc((size_t)width);
    if (!pos) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory", fn);
    int64_t c[3] = {0, 0, 0};
    for (int32_t y = 0; y < height; y++) {
        rule(pred, pred_stride, y, width, arg, pos);
        tally_row(pos, truth + (int64_t)y * truth_stride, truth_labels, ignore_labels, width, c);
    }
    free(pos);
    memcpy(counts, c, sizeof c);
    return VENSEG_OK;
}

static void label_rule(const void *pred, int64_t stride, int32_t y, int32_t w, const void *arg, uint8_t *pos)
{
    const uint8_t *p = (const uint8_t *)pred + (int64_t)y * stride;
    const uint32_t labels = *(const uint32_t *)arg;
    for (int32_t x = 0; x < w; x++) pos[x] = (uint8_t)in_set(labels, p[x]);
}

static void threshold_rule(const void *pred, int64_t stride, int32_t y, int32_t w, const void *arg, uint8_t *pos)
{
    const float *p = (const float *)pred + (int64_t)y * stride;
    const float threshold = *(const float *)arg;
    for (int32_t x = 0; x < w; x++) pos[x] = p[x] > threshold;
}

venseg_status venseg_overlap_counts(const uint8_t *pred, int64_t pred_stride, uint32_t pred_labels,
                                    const uint8_t *truth, int64_t truth_stride, uint32_t truth_labels,
                                    uint32_t ignore_labels, int32_t width, int32_t height, int64_t counts[3])
{
    vs_clear_error();
    return count("venseg_overlap_counts", pred, pred_stride, 1, label_rule, &pred_labels, truth, truth_stride,
                 truth_labels, ignore_labels, width, height, counts);
}

venseg_status venseg_overlap_counts_prob(const float *prob, int64_t prob_stride, float threshold,
                                         const uint8_t *truth, int64_t truth_stride, uint32_t truth_labels,
                                         uint32_t ignore_labels, int32_t width, int32_t height, int64_t counts[3])
{
    vs_clear_error();
    if (!isfinite(threshold))
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_overlap_counts_prob: threshold is not finite");
    return count("venseg_overlap_counts_prob", prob, prob_stride, sizeof(float), threshold_rule, &threshold, truth,
                 truth_stride, truth_labels, ignore_labels, width, height, counts);
}

/* num / den with the empty-truth rule; k = 2 for Dice, 1 for Jaccard. */
static venseg_status overlap_score(const char *fn, const int64_t counts[3], venseg_empty_rule rule, double smooth,
                                   int k, double *out)
{
    vs_clear_error();
    if (!counts || !out) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: %s is NULL", fn, counts ? "out" : "counts");
    if (counts[0] < 0 || counts[1] < 0 || counts[2] < 0)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: negative pixel count", fn);
    if (rule != VENSEG_EMPTY_SMOOTH && smooth != 0.0)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: smooth must be 0 unless the rule is VENSEG_EMPTY_SMOOTH", fn);
    if (!(smooth >= 0.0) || !isfinite(smooth))
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: smooth must be a finite number >= 0", fn);
    const double tp = (double)counts[0], fp = (double)counts[1], fnn = (double)counts[2];
    const double num = k * tp, den = k * tp + fp + fnn;
    const int truth_empty = counts[0] == 0 && counts[2] == 0;
    switch (rule) {
    case VENSEG_EMPTY_NAN:
        *out = truth_empty ? NAN : num / den;
        return VENSEG_OK;
    case VENSEG_EMPTY_MONAI:
        *out = truth_empty ? (counts[1] == 0 ? 1.0 : 0.0) : num / den;
        return VENSEG_OK;
    case VENSEG_EMPTY_SMOOTH:
        if (den + smooth == 0.0) return vs_fail(VENSEG_E_UNDEFINED, "%s: both masks empty and smooth = 0", fn);
        *out = (num + smooth) / (den + smooth);
        return VENSEG_OK;
    }
    return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: unknown empty rule %d", fn, (int)rule);
}

venseg_status venseg_dice(const int64_t counts[3], venseg_empty_rule rule, double smooth, double *dice)
{
    return overlap_score("venseg_dice", counts, rule, smooth, 2, dice);
}

venseg_status venseg_jaccard(const int64_t counts[3], venseg_empty_rule rule, double smooth, double *jaccard)
{
    return overlap_score("venseg_jaccard", counts, rule, smooth, 1, jaccard);
}

/* ------------------------------------------------------------------ SSIM */

/* scipy.ndimage 'reflect' (half-sample symmetric) index into [0, n). */
static int reflect(int i, int n)
{
    const int period = 2 * n;
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - 1 - i;
}

/* Separable correlation of a w x h image with a symmetric 1-D kernel of 2r + 1 taps,
 * axis 0 (rows direction) first, then axis 1, as scipy.ndimage does. ry / rx: the
 * reflected source index of every tap, precomputed ([(h) x (2r+1)] and [(w) x (2r+1)]). */
static void filter2d(const double *in, double *tmp, double *out, int w, int h, const double *k, int r,
                     const int *ry, const int *rx)
{
    const int taps = 2 * r + 1;
    for (int y = 0; y < h; y++) {
        double *dst = tmp + (size_t)y * w;
        for (int x = 0; x < w; x++) dst[x] = 0.0;
        for (int t = 0; t < taps; t++) { /* row by row: contiguous, vectorisable */
            const double *src = in + (size_t)ry[y * taps + t] * w;
            const double kt = k[t];
            for (int x = 0; x < w; x++) dst[x] += kt * src[x];
        }
    }
    for (int y = 0; y < h; y++) {
        const double *src = tmp + (size_t)y * w;
        double *dst = out + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            const int *ix = rx + x * taps;
            double s = 0.0;
            for (int t = 0; t < taps; t++) s += k[t] * src[ix[t]];
            dst[x] = s;
        }
    }
}

venseg_status venseg_ssim(const float *x, int64_t x_stride, const float *y, int64_t y_stride, int32_t width,
                          int32_t height, venseg_ssim_window window, int32_t win_size, int sample_covariance,
                          double data_range, double *mssim, float *map, int64_t map_stride)
{
    vs_clear_error();
    venseg_status st = check_image("venseg_ssim", x, x_stride, y, y_stride, width, height, sizeof(float));
    if (st) return st;
    if (!mssim) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_ssim: mssim is NULL");
    if (map && map_stride < width)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_ssim: map_stride %lld is smaller than the width %d",
                       (long long)map_stride, width);
    if (!(data_range > 0) || !isfinite(data_range))
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_ssim: data_range must be > 0 (e.g. 255 for 8-bit, 1 for masks)");
    double kernel[64];
    int r;
    if (window == VENSEG_SSIM_UNIFORM) {
        if (win_size == 0) win_size = 7;
        if (win_size < 3 || win_size > 63 || win_size % 2 == 0)
            return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_ssim: win_size %d must be odd in [3, 63]", win_size);
        r = win_size / 2;
        for (int i = 0; i < win_size; i++) kernel[i] = 1.0 / win_size;
    } else if (window == VENSEG_SSIM_GAUSSIAN) {
        const double sigma = 1.5, truncate = 3.5;
        r = (int)(truncate * sigma + 0.5);
        win_size = 2 * r + 1;
        double sum = 0.0;
        for (int t = -r; t <= r; t++) sum += kernel[t + r] = exp(-0.5 * t * t / (sigma * sigma));
        for (int i = 0; i < win_size; i++) kernel[i] /= sum;
    } else {
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_ssim: unknown window %d", (int)window);
    }
    if (width < win_size || height < win_size)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_ssim: the %d x %d image is smaller than the %d x %d window",
                       width, height, win_size, win_size);
    const size_t n = (size_t)width * height;
    const int taps = 2 * r + 1;
    double *buf = malloc(n * 9 * sizeof *buf);
    int *ry = malloc((size_t)height * taps * sizeof *ry), *rx = malloc((size_t)width * taps * sizeof *rx);
    if (!buf || !ry || !rx) {
        free(buf), free(ry), free(rx);
        return vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_ssim: out of memory");
    }
    for (int y = 0; y < height; y++)
        for (int t = 0; t < taps; t++) ry[y * taps + t] = reflect(y + t - r, height);
    for (int x = 0; x < width; x++)
        for (int t = 0; t < taps; t++) rx[x * taps + t] = reflect(x + t - r, width);
    double *X = buf, *Y = buf + n, *P = buf + 2 * n, *tmp = buf + 3 * n;
    double *ux = buf + 4 * n, *uy = buf + 5 * n, *uxx = buf + 6 * n, *uyy = buf + 7 * n, *uxy = buf + 8 * n;
    for (int j = 0; j < height; j++)
        for (int i = 0; i < width; i++) {
            X[(size_t)j * width + i] = x[(int64_t)j * x_stride + i];
            Y[(size_t)j * width + i] = y[(int64_t)j * y_stride + i];
        }
    filter2d(X, tmp, ux, width, height, kernel, r, ry, rx);
    filter2d(Y, tmp, uy, width, height, kernel, r, ry, rx);
    for (size_t i = 0; i < n; i++) P[i] = X[i] * X[i];
    filter2d(P, tmp, uxx, width, height, kernel, r, ry, rx);
    for (size_t i = 0; i < n; i++) P[i] = Y[i] * Y[i];
    filter2d(P, tmp, uyy, width, height, kernel, r, ry, rx);
    for (size_t i = 0; i < n; i++) P[i] = X[i] * Y[i];
    filter2d(P, tmp, uxy, width, height, kernel, r, ry, rx);
    const double np = (double)win_size * win_size;
    const double cov_norm = sample_covariance ? np / (np - 1.0) : 1.0;
    const double c1 = (0.01 * data_range) * (0.01 * data_range), c2 = (0.03 * data_range) * (0.03 * data_range);
    double sum = 0.0;
    for (int j = 0; j < height; j++)
        for (int i = 0; i < width; i++) {
            size_t k = (size_t)j * width + i;
            double vx = cov_norm * (uxx[k] - ux[k] * ux[k]), vy = cov_norm * (uyy[k] - uy[k] * uy[k]);
            double vxy = cov_norm * (uxy[k] - ux[k] * uy[k]);
            double s = ((2 * ux[k] * uy[k] + c1) * (2 * vxy + c2)) /
                       ((ux[k] * ux[k] + uy[k] * uy[k] + c1) * (vx + vy + c2));
            if (map) map[(int64_t)j * map_stride + i] = (float)s;
            if (j >= r && j < height - r && i >= r && i < width - r) sum += s;
        }
    *mssim = sum / ((double)(width - 2 * r) * (height - 2 * r));
    free(buf), free(ry), free(rx);
    return VENSEG_OK;
}

/* ------------------------------------------------------ surface distances */

/* Boundary pixels of a class region: in the set with a 4-neighbour outside (or the image edge). */
static size_t boundary(const uint8_t *m, int64_t stride, uint32_t labels, int w, int h, uint8_t *edge)
{
    size_t count = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int in = in_set(labels, m[(int64_t)y * stride + x]);
            int e = in && (x == 0 || y == 0 || x == w - 1 || y == h - 1 ||
                           !in_set(labels, m[(int64_t)y * stride + x - 1]) ||
                           !in_set(labels, m[(int64_t)y * stride + x + 1]) ||
                           !in_set(labels, m[(int64_t)(y - 1) * stride + x]) ||
                           !in_set(labels, m[(int64_t)(y + 1) * stride + x]));
            edge[(size_t)y * w + x] = (uint8_t)e;
            count += (size_t)e;
        }
    return count;
}

/* Felzenszwalb-Huttenlocher 1-D squared distance transform of f (n samples spaced s apart);
 * INFINITY marks "no site". v, z: scratch of n and n + 1. */
static void dt1d(const double *f, double *d, int n, double s, int *v, double *z)
{
    int k = -1;
    for (int q = 0; q < n; q++) {
        if (isinf(f[q])) continue;
        const double pq = q * s;
        while (k >= 0) {
            const double pv = v[k] * s;
            double inter = ((f[q] + pq * pq) - (f[v[k]] + pv * pv)) / (2 * (pq - pv));
            if (inter <= z[k]) k--;
            else {
                k++;
                v[k] = q;
                z[k] = inter;
                z[k + 1] = INFINITY;
                break;
            }
        }
        if (k < 0) {
            k = 0;
            v[0] = q;
            z[0] = -INFINITY;
            z[1] = INFINITY;
        }
    }
    if (k < 0) {
        for (int q = 0; q < n; q++) d[q] = INFINITY;
        return;
    }
    int j = 0;
    for (int q = 0; q < n; q++) {
        while (z[j + 1] < q * s) j++;
        const double diff = (q - v[j]) * s;
        d[q] = diff * diff + f[v[j]];
    }
}

/* Squared Euclidean distance (spacing sx, sy) from every pixel to the nearest site. */
static int edt(const uint8_t *sites, int w, int h, double sx, double sy, double *out)
{
    const int n = w > h ? w : h;
    double *f = calloc((size_t)n, sizeof *f), *d = malloc((size_t)n * sizeof *d), *z = malloc(((size_t)n + 1) * sizeof *z);
    int *v = malloc((size_t)n * sizeof *v);
    if (!f || !d || !z || !v) {
        free(f), free(d), free(z), free(v);
        return 0;
    }
    for (int x = 0; x < w; x++) {
        for (int y = 0; y < h; y++) f[y] = sites[(size_t)y * w + x] ? 0.0 : INFINITY;
        dt1d(f, d, h, sy, v, z);
        for (int y = 0; y < h; y++) out[(size_t)y * w + x] = d[y];
    }
    for (int y = 0; y < h; y++) {
        memcpy(f, out + (size_t)y * w, (size_t)w * sizeof *f);
        dt1d(f, d, w, sx, v, z);
        memcpy(out + (size_t)y * w, d, (size_t)w * sizeof *d);
    }
    free(f), free(d), free(z), free(v);
    return 1;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy/torch quantile with linear interpolation of sorted values. */
static double quantile(double *v, size_t n, double percentile)
{
    qsort(v, n, sizeof *v, by_value);
    double pos = percentile / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(pos), hi = (size_t)ceil(pos);
    return v[lo] + (v[hi] - v[lo]) * (pos - (double)lo);
}

venseg_status venseg_surface_distance(const uint8_t *pred, int64_t pred_stride, uint32_t pred_labels,
                                      const uint8_t *truth, int64_t truth_stride, uint32_t truth_labels,
                                      int32_t width, int32_t height, double spacing_x, double spacing_y,
                                      double percentile, double *hausdorff, double *mean_distance,
                                      double *symmetric_mean)
{
    vs_clear_error();
    venseg_status st =
        check_image("venseg_surface_distance", pred, pred_stride, truth, truth_stride, width, height, 1);
    if (st) return st;
    if (!(spacing_x > 0 && spacing_y > 0 && isfinite(spacing_x) && isfinite(spacing_y)))
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_surface_distance: spacing %g x %g must be finite and > 0",
                       spacing_x, spacing_y);
    if (!(percentile >= 0 && percentile <= 100))
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_surface_distance: percentile %g outside [0, 100]", percentile);
    const size_t n = (size_t)width * height;
    uint8_t *ep = malloc(n), *eg = malloc(n);
    double *dist = malloc(n * sizeof *dist), *dpg = NULL, *dgp = NULL;
    if (!ep || !eg || !dist) {
        st = vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_surface_distance: out of memory");
        goto done;
    }
    size_t np = boundary(pred, pred_stride, pred_labels, width, height, ep);
    size_t ng = boundary(truth, truth_stride, truth_labels, width, height, eg);
    double hd, asd, assd;
    if (np == 0 || ng == 0) {
        hd = asd = assd = (np == 0 && ng == 0) ? NAN : INFINITY;
    } else {
        dpg = malloc(np * sizeof *dpg);
        dgp = malloc(ng * sizeof *dgp);
        if (!dpg || !dgp || !edt(eg, width, height, spacing_x, spacing_y, dist)) {
            st = vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_surface_distance: out of memory");
            goto done;
        }
        double sum_pg = 0.0, sum_gp = 0.0;
        for (size_t i = 0, k = 0; i < n; i++)
            if (ep[i]) sum_pg += dpg[k++] = sqrt(dist[i]);
        if (!edt(ep, width, height, spacing_x, spacing_y, dist)) {
            st = vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_surface_distance: out of memory");
            goto done;
        }
        for (size_t i = 0, k = 0; i < n; i++)
            if (eg[i]) sum_gp += dgp[k++] = sqrt(dist[i]);
        asd = sum_pg / (double)np;
        assd = (sum_pg + sum_gp) / (double)(np + ng);
        double a = quantile(dpg, np, percentile), b = quantile(dgp, ng, percentile);
        hd = a > b ? a : b;
    }
    if (hausdorff) *hausdorff = hd;
    if (mean_distance) *mean_distance = asd;
    if (symmetric_mean) *symmetric_mean = assd;
done:
    free(ep), free(eg), free(dist), free(dpg), free(dgp);
    return st;
}

venseg_status venseg_compressibility(double area_pre, double area_compressed, double *percent)
{
    vs_clear_error();
    if (!percent) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_compressibility: percent is NULL");
    if (!(area_pre >= 0) || !(area_compressed >= 0) || !isfinite(area_pre) || !isfinite(area_compressed))
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_compressibility: areas %g, %g must be finite and >= 0",
                       area_pre, area_compressed);
    if (area_pre == 0)
        return vs_fail(VENSEG_E_UNDEFINED, "venseg_compressibility: the vein area before compression is 0");
    *percent = (area_pre - area_compressed) / area_pre * 100.0;
    return VENSEG_OK;
}
