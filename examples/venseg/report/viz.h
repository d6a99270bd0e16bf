/*
 * viz.h: pictures and terminal output of the venseg CLI: the artery/vein overlay
 * (one fixed 256-colour palette, so GIF frames need no quantiser), an RGB canvas with
 * a 5x7 bitmap font, the area-vs-time plot, base64, and the progress bar.
 */
#ifndef VENSEG_CLI_VIZ_H
#define VENSEG_CLI_VIZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Overlay palette: 0..125 grey ramp, 126 artery outline (red), 127 vein outline (blue),
 * 128..191 grey tinted red (artery), 192..255 grey tinted blue (vein). */
extern const uint8_t *vs_overlay_palette(void); /* 768 bytes, RGB */

/* rgb: the frame (3 bytes per pixel, tightly packed); labels: 1 artery, 2 vein (model
 * values), others background. index: width * height palette indices. */
void vs_overlay_index(const uint8_t *rgb, const uint8_t *labels, int32_t width, int32_t height, uint8_t *index);
/* Palette indices -> RGB. */
void vs_index_to_rgb(const uint8_t *index, size_t n, uint8_t *rgb);
/* Both at once: the overlay of rgb as RGB into out_rgb (which may be rgb); index is
 * width * height bytes of scratch. */
void vs_overlay_rgb(const uint8_t *rgb, const uint8_t *labels, int32_t width, int32_t height, uint8_t *index,
                    uint8_t *out_rgb);

typedef struct vs_canvas {
    int32_t width, height;
    uint8_t *rgb;
} vs_canvas;

int vs_canvas_init(vs_canvas *c, int32_t width, int32_t height, uint32_t colour); /* 0xRRGGBB; 0 or -1 */
void vs_canvas_free(vs_canvas *c);
void vs_canvas_rect(vs_canvas *c, int x0, int y0, int x1, int y1, uint32_t colour); /* inclusive */
void vs_canvas_line(vs_canvas *c, double x0, double y0, double x1, double y1, int thickness, uint32_t colour);
/* Text in the 5x7 font (upper case; unknown characters are blank), scale >= 1. */
void vs_canvas_text(vs_canvas *c, int x, int y, const char *text, int scale, uint32_t colour);
int vs_canvas_text_width(const char *text, int scale);

/* Area-vs-time plot. x: times (s) or frame indices (n values); vein_raw, vein_smooth,
 * artery: areas (n values; artery nullable). baseline_x / min_x: marker positions in x
 * units (NaN: no marker). x_label / y_label: axis titles. */
typedef struct vs_plot_data {
    int n;
    const double *x, *vein_raw, *vein_smooth, *artery;
    double baseline_x, min_x;
    const char *x_label, *y_label, *title;
} vs_plot_data;
int vs_plot_render(const vs_plot_data *d, int32_t width, int32_t height, vs_canvas *out);

/* Base64 (RFC 4648) of n bytes into a new NUL-terminated string (NULL: out of memory). */
char *vs_base64(const uint8_t *data, size_t n);

/* Progress bar on stderr: drawn only when enabled (a terminal, or --progress). */
typedef struct vs_progress {
    int enabled;
    const char *label;
    int total; /* 0: unknown */
    int last_permille;
} vs_progress;
/* mode: 1 always, 0 never, -1 when stderr is a terminal. */
void vs_progress_start(vs_progress *p, const char *label, int total, int mode);
void vs_progress_update(vs_progress *p, int done);
void vs_progress_end(vs_progress *p);

#endif
