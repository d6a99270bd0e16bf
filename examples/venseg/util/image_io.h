/*
 * image_io.h: still images (frames) in for the venseg program, whatever their format.
 *
 * PNG goes through libpng (png_io.h); JPEG, BMP and TIFF through FFmpeg's decoders
 * (libavcodec mjpeg, bmp, tiff: the libraries the program reads video with), when it was
 * built with FFmpeg. The format is told by the file's first bytes, not by its name. Every
 * image comes back in the layout of vs_png_read_image: 1 channel 8 bit (grey), 1 channel
 * 16 bit (grey deeper than 8 bit), or 3 channels 8 bit (colour; alpha dropped, palettes
 * expanded). A DICOM file ("DICM" at byte 128, or named .dcm) is read through DCMTK
 * (dicom_io.h): its one frame, 8-bit grey or RGB. Nothing here prints.
 */
#ifndef VENSEG_CLI_IMAGE_IO_H
#define VENSEG_CLI_IMAGE_IO_H

#include <stddef.h>

#include "util/png_io.h"

/* What the first n bytes of a file say it is: "PNG", "JPEG", "BMP", "TIFF", or NULL. */
const char *vs_image_kind(const unsigned char *head, size_t n);

/* Whether this venseg can decode images of that kind ("PNG" always; the others need FFmpeg). */
int vs_image_kind_supported(const char *kind);

/* Reads a PNG, JPEG, BMP or TIFF image. Returns 0, or -1 with a message in err:
 * "cannot open: ..." (missing, unreadable), "not a PNG, JPEG, BMP or TIFF image" (anything
 * else), "a JPEG image, but this venseg was built without FFmpeg ..." or "a damaged or
 * unsupported JPEG image (FFmpeg: ...)". */
int vs_image_read(const char *path, vs_png *out, char *err, size_t err_size);

#endif
