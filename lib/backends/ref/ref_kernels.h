/* Reference kernels: portable C, OpenMP over independent outputs so that every output
 * element is summed in one fixed order (bit-identical for any thread count). */
#ifndef VENSEG_REF_KERNELS_H
#define VENSEG_REF_KERNELS_H

#include "core/graph.h"

enum { VS_REF_COLS = 64 }; /* output columns per im2col chunk */

/* Scratch floats per thread for a convolution node. */
size_t vs_ref_conv_scratch(const vs_node *n);

/* weight: the node's f32 weights (vs_node_weights) */
void vs_ref_conv(const vs_node *n, const float *weight, const float *x, int h, int w, float *y, int ho, int wo,
                 const float *residual, float *scratch, int threads);
void vs_ref_convt(const vs_node *n, const float *weight, const float *x, int h, int w, float *y, int ho, int wo,
                  int threads);
void vs_ref_affine(const vs_node *n, const float *x, int h, int w, float *y, int threads);
void vs_ref_maxpool(const vs_node *n, const float *x, int h, int w, float *y, int ho, int wo, int threads);
void vs_ref_upsample2x(int channels, const float *x, int h, int w, float *y, int threads);
void vs_ref_concat(int c0, const float *x0, int c1, const float *x1, int h, int w, float *y);

#endif
