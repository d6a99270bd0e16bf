/* Frame pre- and post-processing: pixel decoding, resizing, connected components. */
#ifndef VENSEG_FRAME_H
#define VENSEG_FRAME_H

#include "core/internal.h"

/* Bytes per pixel of a format, 0 if the format is unknown. */
int vs_pixel_size(venseg_pixel_format format);

/* Geometry mapping an ROI of rw x rh frame pixels onto the network's nw x nh input. */
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

/* Bilinear resampling of nw x nh maps back to rw x rh ROI maps, `planes` of them. */
void vs_maps_to_frame(const float *maps, int planes, const vs_mapping *m, float *out);

/* 8-connected components of equal non-zero labels. comp receives a component id per pixel
 * (-1 for background); returns the number of components, or -1 when out of memory. */
int vs_components(const uint8_t *labels, int w, int h, int32_t *comp);

#endif
