/* Frames: validation, pixel decoding, resizing. */
#ifndef VENSEG_FRAME_H
#define VENSEG_FRAME_H

#include "core/internal.h"

/* The largest frame side (and ROI extent) any function takes, and the largest side of
 * a network input tensor. */
#define VS_MAX_FRAME_SIDE 32768
#define VS_MAX_TENSOR_SIDE 8192

/* Bytes per pixel of a format, 0 if the format is unknown. */
int vs_pixel_size(venseg_pixel_format format);

/* The checks of caller-given frames, masks and tensors, one of each: fn names the
 * public function in the detail, `what` the stride argument. */

/* 1..VS_MAX_FRAME_SIDE per side. */
venseg_status vs_check_size(const char *fn, int32_t width, int32_t height);

/* stride >= min_stride (the bytes or elements of one row), and `planes` planes of
 * `height` rows stride apart stay addressable. */
venseg_status vs_check_stride(const char *fn, const char *what, int64_t stride, int64_t min_stride, int32_t height,
                              int64_t planes);

/* A frame: known format, vs_check_size, row_stride >= width x pixel size. *bpp
 * (nullable) receives the pixel size. */
venseg_status vs_check_frame(const char *fn, venseg_pixel_format format, int32_t width, int32_t height,
                             int64_t row_stride, int *bpp);

/* A network input: `channels` of the model's, sides multiples of `multiple` in
 * [multiple, VS_MAX_TENSOR_SIDE]. */
venseg_status vs_check_tensor(const char *fn, int32_t channels, int32_t height, int32_t width, int model_channels,
                              int multiple);

typedef struct vs_mapping {
    int rw, rh, nw, nh;
    double sx, sy;  /* network pixels per frame pixel */
    double ox, oy;  /* network-space offset of the frame content (letterbox padding) */
} vs_mapping;

void vs_mapping_init(vs_mapping *m, int rw, int rh, int nw, int nh, int letterbox);

/* Fills the network input [channels][nh][nw] from the ROI (pixels points at its top-left):
 * bilinear sampling (half-pixel centres), intensities in 0..255 units, then
 * (v * scale - mean[c]) / std[c]; letterbox padding is intensity 0. */
void vs_frame_to_tensor(const void *pixels, venseg_pixel_format format, int64_t row_stride, const vs_mapping *m,
                        int channels, double scale, const double *mean, const double *std, float *tensor);

/* Bilinear resampling of nw x nh maps back to rw x rh ROI maps, `planes` of them. 0, or -1
 * when out of memory. */
int vs_maps_to_frame(const float *maps, int planes, const vs_mapping *m, float *out);

/* A frame's grid for labels and regions (the tracker's VENSEG_TRACKER_MAX_SIDE): the frame
 * scaled so that its longer side is at most max_side (0: no bound, the frame itself). sx, sy:
 * grid px per frame px (1 for the frame itself). */
typedef struct vs_grid {
    int w, h;
    double sx, sy;
} vs_grid;

void vs_grid_init(vs_grid *g, int width, int height, int max_side);

/* 1 when the grid is the frame itself. */
int vs_grid_is_frame(const vs_grid *g);

/* The grid cell of frame column x (axis scale s, n cells) and the frame column of grid cell i
 * (frame size n): the pixel under the other's centre, nearest sampling. */
int vs_grid_cell(int x, double s, int n);
int vs_grid_source(int i, double s, int n);

/* Labels of a frame (frame w x h, stride bytes per row) at the grid (g->w x g->h, packed):
 * the frame's pixel under each cell's centre. */
void vs_labels_to_grid(const uint8_t *labels, int64_t stride, const vs_grid *g, int frame_w, int frame_h, uint8_t *out);

#endif
