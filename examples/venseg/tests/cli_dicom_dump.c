/* cli_dicom_dump CLIP OUT.raw: reads CLIP as `venseg analyze` does (vs_reader: a DICOM file,
 * a folder of frames, ...) and writes its frames, 8-bit RGB, one after another, into OUT.raw;
 * prints one JSON line: kind, width, height, frames, fps and, for DICOM, the header venseg
 * takes (spacing, fps, region and their sources, syntax, photometric).
 * cli_dicom_dump --image FILE OUT.raw: reads FILE as `venseg segment` does (vs_image_read)
 * and writes its pixels as they come (grey: 1 byte a pixel, colour: 3).
 * For cli_dicom_test.sh, which compares the pixels with pydicom and the source frames.
 * Exit status 4 and the message on stderr when the reader fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dicom_io.h"
#include "util/image_io.h"
#include "util/media.h"

static void print_info(const vs_dicom_info *d)
{
    printf(", \"transfer_syntax_uid\": \"%s\", \"photometric\": \"%s\", \"spacing_mm\": [%.17g, %.17g], "
           "\"spacing_source\": \"%s\", \"dicom_fps\": %.17g, \"fps_source\": \"%s\", \"roi\": [%d, %d, %d, %d], "
           "\"roi_source\": \"%s\"",
           d->transfer_syntax_uid, d->photometric, d->spacing_x, d->spacing_y, d->spacing_source, d->fps, d->fps_source,
           d->roi[0], d->roi[1], d->roi[2], d->roi[3], d->roi_source);
}

int main(int argc, char **argv)
{
    char err[1024];
    if (argc == 4 && !strcmp(argv[1], "--image")) {
        vs_png img;
        if (vs_image_read(argv[2], &img, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", argv[2], err);
            return 4;
        }
        FILE *f = fopen(argv[3], "wb");
        size_t n = (size_t)img.width * img.height * img.channels * (img.bits / 8);
        int ok = f && fwrite(img.data, 1, n, f) == n;
        if (f) fclose(f);
        printf("{\"width\": %d, \"height\": %d, \"channels\": %d, \"bits\": %d}\n", img.width, img.height, img.channels,
               img.bits);
        vs_png_free(&img);
        return ok ? 0 : 1;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: cli_dicom_dump CLIP OUT.raw | --image FILE OUT.raw\n");
        return 2;
    }
    vs_reader *r;
    if (vs_reader_open(argv[1], &r, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 4;
    }
    FILE *f = fopen(argv[2], "wb");
    if (!f) {
        vs_reader_close(r);
        return 1;
    }
    size_t bytes = (size_t)vs_reader_width(r) * vs_reader_height(r) * 3;
    const uint8_t *rgb;
    int rc, n = 0;
    while ((rc = vs_reader_next(r, &rgb, err, sizeof err)) == 1) {
        if (fwrite(rgb, 1, bytes, f) != bytes) rc = -1;
        n++;
    }
    fclose(f);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", argv[1], err);
        vs_reader_close(r);
        return 4;
    }
    printf("{\"kind\": \"%s\", \"width\": %d, \"height\": %d, \"frames\": %d, \"fps\": %.17g", vs_reader_kind(r),
           vs_reader_width(r), vs_reader_height(r), n, vs_reader_fps(r));
    if (vs_reader_dicom(r)) print_info(vs_reader_dicom(r));
    printf("}\n");
    vs_reader_close(r);
    return 0;
}
