/*
 * dicom_io.h: DICOM images and cine loops in, for the venseg program, through DCMTK
 * (dcmdata, dcmimgle/dcmimage for the photometric conversions, dcmjpeg, dcmjpls and the RLE
 * decoder for the compressed transfer syntaxes). The one C++ file is dicom_io.cpp; it is
 * built only when CMake found DCMTK (VENSEG_CLI_HAVE_DCMTK), and the callers (media.c,
 * image_io.c, segment_cmd.c) say "built without DCMTK" otherwise. Nothing here prints
 * (DCMTK's own log is switched off: its errors come back in the messages).
 *
 * Frames come out as 8-bit grey (MONOCHROME1/2, stored values unchanged when BitsStored <= 8;
 * deeper grey through the file's first VOI window) or 8-bit RGB (RGB, YBR_FULL, YBR_FULL_422,
 * YBR_PARTIAL_*, PALETTE COLOR: converted by DCMTK). A multi-frame file is decoded one frame
 * at a time. Errors name what is wrong and contain "bad DICOM: " (damaged, truncated, not
 * DICOM, missing attributes) or "unsupported DICOM: " (a transfer syntax DCMTK cannot decode
 * here, such as JPEG 2000, or pixels venseg does not turn into 8-bit frames): both are input
 * errors (exit status 4). docs/dicom.md has the details.
 */
#ifndef VENSEG_CLI_DICOM_IO_H
#define VENSEG_CLI_DICOM_IO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/png_io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the messages of damaged and unsupported files contain (exit status 4). */
#define VS_DICOM_BAD "bad DICOM: "
#define VS_DICOM_UNSUPPORTED "unsupported DICOM: "

/* What the file's header says, and where each value came from ("" when unknown). */
typedef struct vs_dicom_info {
    int32_t width, height, frames;
    int channels;                /* of the frames delivered: 1 grey, 3 RGB */
    int bits_stored;
    char photometric[32];        /* PhotometricInterpretation, e.g. "MONOCHROME2", "YBR_FULL_422" */
    char transfer_syntax[96];    /* its name, e.g. "JPEG Baseline" */
    char transfer_syntax_uid[72];
    char modality[17];
    double spacing_x, spacing_y; /* mm per px (x: along a row); 0 unknown */
    const char *spacing_source;  /* "dicom:SequenceOfUltrasoundRegions", "dicom:PixelSpacing", "" */
    double fps;                  /* 0 unknown */
    const char *fps_source;      /* "dicom:FrameTime", "dicom:CineRate", "dicom:RecommendedDisplayFrameRate", "" */
    int32_t roi[4];              /* x, y, w, h of the ultrasound region; roi[2] == 0: none */
    const char *roi_source;      /* "dicom:SequenceOfUltrasoundRegions", "" */
    const char *grey_mapping;    /* grey deeper than 8 bits: "dicom:WindowCenter/Width" or "dicom:VOILUTSequence"; else "" */
} vs_dicom_info;

/* Whether a file looks like DICOM: "DICM" at offset 128 of head (a Part 10 file), or a name
 * ending in .dcm / .dicom (also a bare data set without the preamble). */
static inline int vs_dicom_looks(const char *path, const unsigned char *head, size_t n)
{
    if (n >= 132 && memcmp(head + 128, "DICM", 4) == 0) return 1;
    size_t len = path ? strlen(path) : 0;
    const char *exts[2] = {".dcm", ".dicom"};
    for (int k = 0; k < 2; k++) {
        size_t e = strlen(exts[k]);
        if (len > e) {
            const char *s = path + len - e;
            int same = 1;
            for (size_t i = 0; i < e && same; i++) same = (s[i] | 0x20) == exts[k][i];
            if (same) return 1;
        }
    }
    return 0;
}

/* A DICOM file open for its frames, one at a time. */
typedef struct vs_dicom vs_dicom;

/* Opens path, reads its header into info (nullable) and prepares the first frame. 0, or -1
 * with a message in err ("bad DICOM: ..." / "unsupported DICOM: ..."; the callers add the
 * path, as for the other messages here). */
int vs_dicom_open(const char *path, vs_dicom **out, vs_dicom_info *info, char *err, size_t err_size);
/* The next frame as 8-bit RGB (rgb: width * height * 3 bytes; grey replicated). 1 (a frame),
 * 0 (no more), -1 (error, message in err). */
int vs_dicom_next(vs_dicom *d, uint8_t *rgb, char *err, size_t err_size);
void vs_dicom_close(vs_dicom *d);

/* Frame `frame` (0-based) of a file as an image in vs_png's layout (8-bit grey, 1 channel, or
 * 8-bit RGB), with the header in info (nullable). 0, or -1 with a message (not prefixed by the
 * path). */
int vs_dicom_read_frame(const char *path, int32_t frame, vs_png *out, vs_dicom_info *info, char *err,
                        size_t err_size);

/* The header only (no pixels decoded). 0, or -1 with a message (not prefixed by the path). */
int vs_dicom_probe(const char *path, vs_dicom_info *info, char *err, size_t err_size);

#ifdef __cplusplus
}
#endif

#endif
