/*
 * png_io.h: PNG reading and writing for the venseg CLI (libpng's low-level API).
 *
 * Images: 8-bit grey, grey+alpha, RGB, RGBA, palette, 1/2/4-bit grey and 16-bit:
 *   grey (any alpha dropped)          -> 1 channel, 8 bit (1/2/4-bit values scaled to 0..255)
 *   16-bit grey                       -> 1 channel, 16 bit (native-endian uint16)
 *   RGB, RGBA, palette, 16-bit colour -> 3 channels, 8 bit (alpha dropped, palette
 *                                        expanded, 16-bit to the high byte)
 * This is what Pillow gives for the same files (L, LA, I;16/I, RGB, RGBA, P->RGB).
 *
 * Labels: the raw value of every pixel, not a colour: a palette PNG gives the palette
 * INDEX, a grey PNG its grey value (1/2/4-bit scaled to 0..255 as Pillow's "L"; 16-bit
 * values must be <= 255), RGB(A) only when R == G == B everywhere (else an error).
 */
#ifndef VENSEG_CLI_PNG_IO_H
#define VENSEG_CLI_PNG_IO_H

#include <stddef.h>
#include <stdint.h>
#include <venseg/venseg.h>

typedef struct vs_png {
    int32_t width, height;
    int channels; /* 1 or 3 */
    int bits;     /* 8 or 16 (16 only for 1-channel images) */
    uint8_t *data; /* rows of width * channels * bits / 8 bytes, tightly packed */
} vs_png;

/* Returns 0, or -1 with a message in err (never longjmps out, never aborts). */
int vs_png_read_image(const char *path, vs_png *out, char *err, size_t err_size);
int vs_png_read_label(const char *path, vs_png *out, char *err, size_t err_size);
void vs_png_free(vs_png *png);
/* The image's pixel format and row stride in bytes, as venseg_segment takes them. */
venseg_pixel_format vs_png_pixel_format(const vs_png *png, int64_t *stride);
/* The image as 8-bit RGB (rgb: width * height * 3 bytes): grey replicated, 16-bit grey
 * by its high byte. */
void vs_png_to_rgb(const vs_png *png, uint8_t *rgb);
/* The label beside an image: "a/b.png" (or .jpg, .jpeg, .bmp, .tif, .tiff) -> "a/b_label.png"
 * (0), or -1 when it does not fit. */
int vs_label_path_beside(const char *image, char *out, size_t size);

/* Writes an 8-bit grey PNG. Returns 0 or -1 with a message. */
int vs_png_write_gray(const char *path, const uint8_t *data, int32_t width, int32_t height, int64_t stride,
                      char *err, size_t err_size);
/* Writes an 8-bit RGB PNG (rows of width * 3 bytes, tightly packed). Returns 0 or -1. */
int vs_png_write_rgb(const char *path, const uint8_t *rgb, int32_t width, int32_t height, char *err,
                     size_t err_size);
/* The same PNG in memory: *out (malloc'ed, *size bytes). Returns 0 or -1. */
int vs_png_encode_rgb(const uint8_t *rgb, int32_t width, int32_t height, uint8_t **out, size_t *size);

#endif
