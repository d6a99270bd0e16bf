/*
 * media.h: clips in and out for the venseg CLI.
 *
 * Reading: a video file (FFmpeg libavformat/libavcodec/libswscale), an animated GIF
 * (giflib: frames composited as a viewer shows them) or a folder of frames (natural order
 * of names: slice_9 before slice_10), each frame as 8-bit RGB. Writing: animated GIFs of
 * palette frames (giflib)
 * and MP4 (libavcodec: libx264 if present, else MPEG-4 part 2).
 * Support that was not built in reports itself through vs_media_have_*() and clear
 * errors; nothing here prints. A folder's frames may be PNG, JPEG, BMP or TIFF images
 * (image_io.h reads them).
 */
#ifndef VENSEG_CLI_MEDIA_H
#define VENSEG_CLI_MEDIA_H

#include <stddef.h>
#include <stdint.h>

int vs_media_have_video(void); /* FFmpeg built in */
int vs_media_have_gif(void);   /* giflib built in */

/* FFmpeg's text for an error code (AVERROR); only in builds with FFmpeg. */
void vs_av_error_text(int code, char *buf, size_t size);

typedef struct vs_reader vs_reader;

/* Opens path: a directory (image frames), a DICOM file ("DICM" at byte 128, or named .dcm:
 * its frames one at a time through DCMTK, dicom_io.h), a GIF (by its signature) or any other
 * file FFmpeg can decode. Returns 0, or -1 with a message naming what is wrong. */
int vs_reader_open(const char *path, vs_reader **out, char *err, size_t err_size);
void vs_reader_close(vs_reader *r);
int32_t vs_reader_width(const vs_reader *r);
int32_t vs_reader_height(const vs_reader *r);
double vs_reader_fps(const vs_reader *r);        /* 0 when unknown (frame folders) */
int32_t vs_reader_frame_count(const vs_reader *r); /* an estimate for videos; 0 if unknown */
const char *vs_reader_kind(const vs_reader *r);  /* "video", "gif", "frames", "dicom" */
/* A DICOM file's header (a folder of DICOM frames: its first file's); NULL for other clips. */
struct vs_dicom_info;
const struct vs_dicom_info *vs_reader_dicom(const vs_reader *r);
/* Next frame: *rgb points at width * height * 3 bytes owned by the reader, valid until
 * the next call. Returns 1 (a frame), 0 (end), -1 (error, message in err). */
int vs_reader_next(vs_reader *r, const uint8_t **rgb, char *err, size_t err_size);
/* Moves past the next frame without converting it (a video's frame is still decoded, a GIF's
 * composited; a folder's image is not read). Returns as vs_reader_next(). */
int vs_reader_skip(vs_reader *r, char *err, size_t err_size);
/* Frame folders: the file of the frame vs_reader_next() returned last; NULL for other kinds. */
const char *vs_reader_frame_path(const vs_reader *r);

/* Whether the clip was whole, so far: what the container declares against what was decoded,
 * and the errors FFmpeg reported while demuxing and decoding (a file cut short, a damaged
 * packet, a frame it could decode only in part). Frame folders and GIFs declare their own
 * count and report no errors (a broken one does not open or fails vs_reader_next). */
typedef struct vs_reader_health {
    int32_t frames_declared; /* videos: nb_frames, else duration x frame rate; -1 unknown */
    char declared_from[16];  /* "nb_frames", "duration", "files", "GIF", "" (unknown) */
    int32_t frames_decoded;  /* frames vs_reader_next() returned */
    int at_end;              /* vs_reader_next() reached the end (0): not stopped early */
    int32_t decode_errors;   /* errors FFmpeg reported (its log's errors, failed reads and packets) */
    int32_t damaged_frames;  /* frames FFmpeg decoded only in part (errors concealed) */
    char first_error[256];   /* the first of them, e.g. "mpeg4: Error at MB: 881"; "" if none */
} vs_reader_health;
void vs_reader_get_health(const vs_reader *r, vs_reader_health *out);

/* Animated GIF writer: 256-colour global palette (rgb: 768 bytes), looping. */
typedef struct vs_gif_writer vs_gif_writer;
int vs_gif_open(const char *path, int32_t width, int32_t height, const uint8_t palette[768], vs_gif_writer **out,
                char *err, size_t err_size);
/* index: width * height palette indices; delay in 1/100 s. */
int vs_gif_add(vs_gif_writer *g, const uint8_t *index, int delay_cs, char *err, size_t err_size);
int vs_gif_close(vs_gif_writer *g, char *err, size_t err_size); /* frees g in any case */

/* MP4 writer (H.264 via libx264 when FFmpeg has it, else MPEG-4 part 2); odd sizes are
 * cropped by one pixel. codec_name (nullable) receives the encoder used. */
typedef struct vs_mp4_writer vs_mp4_writer;
int vs_mp4_open(const char *path, int32_t width, int32_t height, double fps, vs_mp4_writer **out,
                const char **codec_name, char *err, size_t err_size);
int vs_mp4_add(vs_mp4_writer *m, const uint8_t *rgb, char *err, size_t err_size);
int vs_mp4_close(vs_mp4_writer *m, char *err, size_t err_size); /* frees m in any case */

#endif
