/* viz.c: see viz.h. */
#include "report/viz.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { GREY_LEVELS = 126, ARTERY_EDGE = 126, VEIN_EDGE = 127, ARTERY_TINT = 128, VEIN_TINT = 192, TINT_LEVELS = 64 };

static const uint8_t artery_rgb[3] = {255, 40, 40}, vein_rgb[3] = {40, 140, 255};

static uint8_t palette[768];
static int palette_ready;

const uint8_t *vs_overlay_palette(void)
{
    if (!palette_ready) {
        for (int i = 0; i < GREY_LEVELS; i++) palette[3 * i] = palette[3 * i + 1] = palette[3 * i + 2] = (uint8_t)(i * 255 / (GREY_LEVELS - 1));
        memcpy(palette + 3 * ARTERY_EDGE, artery_rgb, 3);
        memcpy(palette + 3 * VEIN_EDGE, vein_rgb, 3);
        for (int t = 0; t < 2; t++) {
            const uint8_t *c = t ? vein_rgb : artery_rgb;
            for (int i = 0; i < TINT_LEVELS; i++) {
                double g = i * 255.0 / (TINT_LEVELS - 1);
                for (int k = 0; k < 3; k++)
                    palette[3 * ((t ? VEIN_TINT : ARTERY_TINT) + i) + k] = (uint8_t)(0.55 * g + 0.45 * c[k] + 0.5);
            }
        }
        palette_ready = 1;
    }
    return palette;
}

void vs_overlay_index(const uint8_t *rgb, const uint8_t *labels, int32_t width, int32_t height, uint8_t *index)
{
    for (int32_t y = 0; y < height; y++)
        for (int32_t x = 0; x < width; x++) {
            size_t i = (size_t)y * width + x;
            const uint8_t *p = rgb + 3 * i;
            int g = (299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000, l = labels ? labels[i] : 0;
            if (l != 1 && l != 2) {
                index[i] = (uint8_t)((g * (GREY_LEVELS - 1) + 127) / 255);
                continue;
            }
            /* outline: a 4-neighbour of another label, or the frame edge */
            int edge = x == 0 || y == 0 || x == width - 1 || y == height - 1 || labels[i - 1] != l ||
                       labels[i + 1] != l || labels[i - width] != l || labels[i + width] != l;
            if (edge) index[i] = (uint8_t)(l == 1 ? ARTERY_EDGE : VEIN_EDGE);
            else index[i] = (uint8_t)((l == 1 ? ARTERY_TINT : VEIN_TINT) + (g * (TINT_LEVELS - 1) + 127) / 255);
        }
}

void vs_index_to_rgb(const uint8_t *index, size_t n, uint8_t *rgb)
{
    const uint8_t *pal = vs_overlay_palette();
    for (size_t i = 0; i < n; i++) memcpy(rgb + 3 * i, pal + 3 * index[i], 3);
}

void vs_overlay_rgb(const uint8_t *rgb, const uint8_t *labels, int32_t width, int32_t height, uint8_t *index,
                    uint8_t *out_rgb)
{
    vs_overlay_index(rgb, labels, width, height, index);
    vs_index_to_rgb(index, (size_t)width * (size_t)height, out_rgb);
}

/* ------------------------------------------------------------------ canvas */

int vs_canvas_init(vs_canvas *c, int32_t width, int32_t height, uint32_t colour)
{
    c->width = width, c->height = height;
    if (!(c->rgb = malloc((size_t)width * height * 3))) return -1;
    vs_canvas_rect(c, 0, 0, width - 1, height - 1, colour);
    return 0;
}

void vs_canvas_free(vs_canvas *c)
{
    free(c->rgb);
    c->rgb = NULL;
}

static void put(vs_canvas *c, int x, int y, uint32_t colour)
{
    if (x < 0 || y < 0 || x >= c->width || y >= c->height) return;
    uint8_t *p = c->rgb + 3 * ((size_t)y * c->width + x);
    p[0] = (uint8_t)(colour >> 16), p[1] = (uint8_t)(colour >> 8), p[2] = (uint8_t)colour;
}

void vs_canvas_rect(vs_canvas *c, int x0, int y0, int x1, int y1, uint32_t colour)
{
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) put(c, x, y, colour);
}

void vs_canvas_line(vs_canvas *c, double x0, double y0, double x1, double y1, int thickness, uint32_t colour)
{
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1)) return;
    double dx = x1 - x0, dy = y1 - y0, len = fmax(fabs(dx), fabs(dy));
    int steps = (int)ceil(len * 2) + 1, lo = -(thickness - 1) / 2, hi = thickness / 2;
    for (int s = 0; s <= steps; s++) {
        int x = (int)lround(x0 + dx * s / steps), y = (int)lround(y0 + dy * s / steps);
        vs_canvas_rect(c, x + lo, y + lo, x + hi, y + hi, colour);
    }
}

/* 5x7 glyphs, one byte per row, bit 4 = leftmost column. */
static const char font_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.-()%/:,+=";
static const uint8_t font_rows[][7] = {
    {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e},
    {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e},
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f},
    {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e},
    {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02},
    {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e},
    {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e},
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
    {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e},
    {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c},
    {0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11},
    {0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e},
    {0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e},
    {0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c},
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f},
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10},
    {0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f},
    {0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11},
    {0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e},
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c},
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11},
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f},
    {0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11},
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11},
    {0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e},
    {0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10},
    {0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d},
    {0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11},
    {0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e},
    {0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e},
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04},
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a},
    {0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11},
    {0x11, 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04},
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f},
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c},
    {0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00},
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02},
    {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08},
    {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03},
    {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00},
    {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00},
    {0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x08},
    {0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00},
    {0x00, 0x00, 0x1f, 0x00, 0x1f, 0x00, 0x00}
};

void vs_canvas_text(vs_canvas *c, int x, int y, const char *text, int scale, uint32_t colour)
{
    for (; *text; text++, x += 6 * scale) {
        char ch = *text >= 'a' && *text <= 'z' ? (char)(*text - 'a' + 'A') : *text;
        const char *at = ch ? strchr(font_chars, ch) : NULL;
        if (!at) continue;
        const uint8_t *g = font_rows[at - font_chars];
        for (int r = 0; r < 7; r++)
            for (int k = 0; k < 5; k++)
                if (g[r] & (0x10 >> k))
                    vs_canvas_rect(c, x + k * scale, y + r * scale, x + k * scale + scale - 1, y + r * scale + scale - 1, colour);
    }
}

int vs_canvas_text_width(const char *text, int scale) { return (int)strlen(text) * 6 * scale - scale; }

/* ------------------------------------------------------------------- plot */

/* A "nice" tick step (1, 2 or 5 x 10^k) giving about `want` ticks over span. */
static double nice_step(double span, int want)
{
    double raw = span / want, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void tick_label(char *buf, size_t size, double v, double step)
{
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, size, "%.*f", decimals, v);
}

int vs_plot_render(const vs_plot_data *d, int32_t width, int32_t height, vs_canvas *out)
{
    enum { LEFT = 78, RIGHT = 18, TOP = 58, BOTTOM = 52 };
    const uint32_t ink = 0x222222, grid = 0xe4e4e4, vein = 0x1f6fd6, vein_raw = 0xa8c8f0, artery = 0xd62828,
                   base_c = 0x2e9b3c, min_c = 0xe07b00;
    if (vs_canvas_init(out, width, height, 0xffffff) != 0) return -1;
    double xmin = 0, xmax = 1, ymax = 0;
    if (d->n > 0) xmin = d->x[0], xmax = d->x[d->n - 1];
    if (xmax <= xmin) xmax = xmin + 1;
    for (int i = 0; i < d->n; i++) {
        ymax = fmax(ymax, d->vein_raw[i]);
        ymax = fmax(ymax, d->vein_smooth[i]);
        if (d->artery) ymax = fmax(ymax, d->artery[i]);
    }
    if (!(ymax > 0)) ymax = 1;
    double ystep = nice_step(ymax * 1.05, 5);
    ymax = ceil(ymax * 1.05 / ystep) * ystep;
    double xstep = nice_step(xmax - xmin, 8);
    int pw = width - LEFT - RIGHT, ph = height - TOP - BOTTOM;
#define PX(v) (LEFT + ((v) - xmin) / (xmax - xmin) * pw)
#define PY(v) (TOP + ph - (v) / ymax * ph)
    char buf[64];
    for (double v = 0; v <= ymax + ystep * 1e-6; v += ystep) {
        int y = (int)lround(PY(v));
        vs_canvas_rect(out, LEFT, y, LEFT + pw, y, grid);
        tick_label(buf, sizeof buf, v, ystep);
        vs_canvas_text(out, LEFT - 8 - vs_canvas_text_width(buf, 2), y - 7, buf, 2, ink);
    }
    for (double v = ceil(xmin / xstep) * xstep; v <= xmax + xstep * 1e-6; v += xstep) {
        int x = (int)lround(PX(v));
        vs_canvas_rect(out, x, TOP, x, TOP + ph, grid);
        tick_label(buf, sizeof buf, v, xstep);
        vs_canvas_text(out, x - vs_canvas_text_width(buf, 2) / 2, TOP + ph + 8, buf, 2, ink);
    }
    vs_canvas_rect(out, LEFT, TOP, LEFT, TOP + ph, ink);
    vs_canvas_rect(out, LEFT, TOP + ph, LEFT + pw, TOP + ph, ink);
    if (isfinite(d->baseline_x)) vs_canvas_line(out, PX(d->baseline_x), TOP, PX(d->baseline_x), TOP + ph, 2, base_c);
    if (isfinite(d->min_x)) vs_canvas_line(out, PX(d->min_x), TOP, PX(d->min_x), TOP + ph, 2, min_c);
    for (int i = 1; i < d->n; i++) {
        vs_canvas_line(out, PX(d->x[i - 1]), PY(d->vein_raw[i - 1]), PX(d->x[i]), PY(d->vein_raw[i]), 1, vein_raw);
        if (d->artery)
            vs_canvas_line(out, PX(d->x[i - 1]), PY(d->artery[i - 1]), PX(d->x[i]), PY(d->artery[i]), 2, artery);
    }
    for (int i = 1; i < d->n; i++)
        vs_canvas_line(out, PX(d->x[i - 1]), PY(d->vein_smooth[i - 1]), PX(d->x[i]), PY(d->vein_smooth[i]), 3, vein);
    if (d->n == 1) vs_canvas_rect(out, (int)PX(d->x[0]) - 2, (int)PY(d->vein_smooth[0]) - 2, (int)PX(d->x[0]) + 2, (int)PY(d->vein_smooth[0]) + 2, vein);
#undef PX
#undef PY
    if (d->title) vs_canvas_text(out, LEFT, 10, d->title, 2, ink);
    if (d->x_label) vs_canvas_text(out, LEFT + (pw - vs_canvas_text_width(d->x_label, 2)) / 2, height - 20, d->x_label, 2, ink);
    if (d->y_label) vs_canvas_text(out, 6, TOP - 24, d->y_label, 1, ink);
    /* legend, top right */
    const char *names[5] = {"VEIN (SMOOTHED)", "VEIN", "ARTERY", "BASELINE", "MAX COMPRESSION"};
    const uint32_t cols[5] = {vein, vein_raw, artery, base_c, min_c};
    int lx = width - RIGHT, ly = 34;
    for (int k = 4; k >= 0; k--) {
        if (k == 2 && !d->artery) continue;
        lx -= vs_canvas_text_width(names[k], 1) + 22;
        vs_canvas_rect(out, lx, ly + 2, lx + 10, ly + 4, cols[k]);
        vs_canvas_text(out, lx + 14, ly, names[k], 1, ink);
    }
    return 0;
}

/* ----------------------------------------------------------------- base64 */

char *vs_base64(const uint8_t *data, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < n ? (uint32_t)data[i + 1] << 8 : 0) | (i + 2 < n ? data[i + 2] : 0);
        *o++ = abc[v >> 18 & 63];
        *o++ = abc[v >> 12 & 63];
        *o++ = i + 1 < n ? abc[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? abc[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* --------------------------------------------------------------- progress */

void vs_progress_start(vs_progress *p, const char *label, int total, int mode)
{
    p->enabled = mode > 0 || (mode < 0 && isatty(STDERR_FILENO));
    p->label = label;
    p->total = total;
    p->last_permille = -1;
    vs_progress_update(p, 0);
}

void vs_progress_update(vs_progress *p, int done)
{
    if (!p->enabled) return;
    if (p->total > 0) {
        int pm = (int)((long long)done * 1000 / p->total);
        if (pm > 1000) pm = 1000;
        if (pm == p->last_permille) return;
        p->last_permille = pm;
        char bar[31];
        int fill = pm * 30 / 1000;
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r%s [%s] %3d%% %d/%d", p->label, bar, pm / 10, done, p->total);
    } else {
        fprintf(stderr, "\r%s %d", p->label, done);
    }
    fflush(stderr);
}

void vs_progress_end(vs_progress *p)
{
    if (p->enabled) fputc('\n', stderr);
    p->enabled = 0;
}
