/* media.c: see media.h. */
#include "util/media.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cli_util.h"
#include "util/dicom_io.h"
#include "util/image_io.h"
#include "util/png_io.h"

#ifdef VENSEG_CLI_HAVE_GIF
#include <gif_lib.h>
#endif
#ifdef VENSEG_CLI_HAVE_LIBAV
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#endif

int vs_media_have_video(void)
{
#ifdef VENSEG_CLI_HAVE_LIBAV
    return 1;
#else
    return 0;
#endif
}

int vs_media_have_gif(void)
{
#ifdef VENSEG_CLI_HAVE_GIF
    return 1;
#else
    return 0;
#endif
}

enum { KIND_FRAMES, KIND_GIF, KIND_VIDEO, KIND_DICOM };
enum { VS_FRAMES_SLACK = 2 }; /* frames by which two declared counts may differ and agree */

struct vs_reader {
    int kind;
    int32_t width, height;
    double fps;
    int32_t count;
    uint8_t *rgb; /* the current frame */
    int32_t next;
    int at_end;               /* vs_reader_next() returned 0 */
    int32_t declared;         /* frames the container declares; -1 unknown */
    const char *declared_from; /* "nb_frames", "duration", "files", "GIF", "" */
    int32_t api_errors;       /* read / decode failures FFmpeg returned without logging them */
    int32_t damaged;          /* frames FFmpeg decoded only in part (errors concealed) */
    int log_base;             /* the FFmpeg error count when reading began */
    /* frames */
    char *dir;
    vs_strlist names; /* image folders: the frames */
    char path[4096]; /* of the current frame */
    /* DICOM: a file's frames one at a time; its header (also a DICOM frame folder's first file) */
    vs_dicom *dicom;
    vs_dicom_info dinfo;
    int have_dinfo;
#ifdef VENSEG_CLI_HAVE_GIF
    GifFileType *gif;
    uint8_t *saved; /* canvas before a DISPOSE_PREVIOUS frame */
    int pending_disposal, pd_x, pd_y, pd_w, pd_h;
#endif
#ifdef VENSEG_CLI_HAVE_LIBAV
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVFrame *frame;
    AVPacket *pkt;
    struct SwsContext *sws;
    int stream, eof;
#endif
};

static int open_frames(vs_reader *r, const char *path, char *err, size_t err_size)
{
    if (vs_list_frames(path, &r->names, err, err_size) != 0) return -1;
    r->count = (int32_t)r->names.n;
    r->declared = r->count, r->declared_from = "files";
    r->dir = strdup(path);
    /* the first frame fixes the size */
    char p[4096];
    vs_png png;
    char e2[256];
    snprintf(p, sizeof p, "%s/%s", path, r->names.v[0]);
    if (vs_image_read(p, &png, e2, sizeof e2) != 0) {
        snprintf(err, err_size, "%s: %s", p, e2);
        return -1;
    }
    r->width = png.width, r->height = png.height;
    vs_png_free(&png);
    r->kind = KIND_FRAMES;
#ifdef VENSEG_CLI_HAVE_DCMTK
    /* a folder of DICOM frames: the first one's spacing, frame rate and region stand for all */
    unsigned char head[132];
    FILE *f = fopen(p, "rb");
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    if (vs_dicom_looks(p, head, got) && vs_dicom_probe(p, &r->dinfo, e2, sizeof e2) == 0) {
        r->have_dinfo = 1;
        r->fps = r->dinfo.fps;
    }
#endif
    return 0;
}

#ifdef VENSEG_CLI_HAVE_DCMTK
static int open_dicom(vs_reader *r, const char *path, char *err, size_t err_size)
{
    char e2[512];
    if (vs_dicom_open(path, &r->dicom, &r->dinfo, e2, sizeof e2) != 0) {
        snprintf(err, err_size, "%s: %s", path, e2);
        return -1;
    }
    r->have_dinfo = 1;
    r->width = r->dinfo.width, r->height = r->dinfo.height;
    r->fps = r->dinfo.fps;
    r->count = r->dinfo.frames;
    r->declared = r->count, r->declared_from = "NumberOfFrames";
    r->kind = KIND_DICOM;
    return 0;
}
#endif

static int next_frame_png(vs_reader *r, char *err, size_t err_size)
{
    char p[4096], e2[256];
    vs_png png;
    if (r->next >= r->count) return 0;
    snprintf(p, sizeof p, "%s/%s", r->dir, r->names.v[r->next]);
    snprintf(r->path, sizeof r->path, "%s", p);
    if (vs_image_read(p, &png, e2, sizeof e2) != 0) {
        snprintf(err, err_size, "%s: %s", p, e2);
        return -1;
    }
    if (png.width != r->width || png.height != r->height) {
        snprintf(err, err_size, "%s: %dx%d, but the first frame is %dx%d", p, png.width, png.height, r->width,
                 r->height);
        vs_png_free(&png);
        return -1;
    }
    vs_png_to_rgb(&png, r->rgb);
    vs_png_free(&png);
    r->next++;
    return 1;
}

#ifdef VENSEG_CLI_HAVE_GIF
static int open_gif(vs_reader *r, const char *path, char *err, size_t err_size)
{
    int e = 0;
    r->gif = DGifOpenFileName(path, &e);
    if (!r->gif) {
        snprintf(err, err_size, "%s: %s", path, GifErrorString(e));
        return -1;
    }
    if (DGifSlurp(r->gif) != GIF_OK) {
        snprintf(err, err_size, "%s: not a readable GIF: %s", path, GifErrorString(r->gif->Error));
        return -1;
    }
    if (r->gif->ImageCount < 1 || r->gif->SWidth < 1 || r->gif->SHeight < 1) {
        snprintf(err, err_size, "%s: a GIF without frames", path);
        return -1;
    }
    r->width = r->gif->SWidth, r->height = r->gif->SHeight;
    r->count = r->gif->ImageCount;
    r->declared = r->count, r->declared_from = "GIF";
    GraphicsControlBlock gcb;
    if (DGifSavedExtensionToGCB(r->gif, 0, &gcb) == GIF_OK && gcb.DelayTime > 0) r->fps = 100.0 / gcb.DelayTime;
    r->kind = KIND_GIF;
    return 0;
}

static void gif_fill(vs_reader *r, int x0, int y0, int w, int h)
{
    for (int y = y0 < 0 ? 0 : y0; y < y0 + h && y < r->height; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x0 + w && x < r->width; x++) memset(r->rgb + 3 * ((size_t)y * r->width + x), 0, 3);
}

/* Composites the next image over the canvas, as viewers do (disposal, transparency). */
static int next_frame_gif(vs_reader *r, char *err, size_t err_size)
{
    if (r->next >= r->count) return 0;
    size_t bytes = (size_t)r->width * r->height * 3;
    if (r->pending_disposal == DISPOSE_BACKGROUND) gif_fill(r, r->pd_x, r->pd_y, r->pd_w, r->pd_h);
    else if (r->pending_disposal == DISPOSE_PREVIOUS && r->saved) memcpy(r->rgb, r->saved, bytes);
    const SavedImage *im = &r->gif->SavedImages[r->next];
    const GifImageDesc *d = &im->ImageDesc;
    GraphicsControlBlock gcb = {DISPOSAL_UNSPECIFIED, false, 0, NO_TRANSPARENT_COLOR};
    DGifSavedExtensionToGCB(r->gif, r->next, &gcb);
    const ColorMapObject *map = d->ColorMap ? d->ColorMap : r->gif->SColorMap;
    if (!map) {
        snprintf(err, err_size, "GIF frame %d has no colour map", r->next);
        return -1;
    }
    if (gcb.DisposalMode == DISPOSE_PREVIOUS) {
        if (!r->saved && !(r->saved = malloc(bytes))) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }
        memcpy(r->saved, r->rgb, bytes);
    }
    for (int y = 0; y < d->Height; y++) {
        int cy = d->Top + y;
        if (cy < 0 || cy >= r->height) continue;
        for (int x = 0; x < d->Width; x++) {
            int cx = d->Left + x, c = im->RasterBits[(size_t)y * d->Width + x];
            if (cx < 0 || cx >= r->width || c == gcb.TransparentColor || c >= map->ColorCount) continue;
            uint8_t *p = r->rgb + 3 * ((size_t)cy * r->width + cx);
            p[0] = map->Colors[c].Red, p[1] = map->Colors[c].Green, p[2] = map->Colors[c].Blue;
        }
    }
    r->pending_disposal = gcb.DisposalMode;
    r->pd_x = d->Left, r->pd_y = d->Top, r->pd_w = d->Width, r->pd_h = d->Height;
    r->next++;
    return 1;
}
#endif

#ifdef VENSEG_CLI_HAVE_LIBAV
void vs_av_error_text(int code, char *buf, size_t size)
{
    char m[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(code, m, sizeof m);
    snprintf(buf, size, "%s", m);
}

/* FFmpeg reports damage (a cut-off file, a broken macroblock it concealed) through its log
 * only: while a video is read, the log's errors are counted and the first kept, and still
 * printed as FFmpeg prints them. One video is read at a time. */
static int g_av_counting, g_av_errors;
static char g_av_first[256];

static void av_log_counting(void *avcl, int level, const char *fmt, va_list vl)
{
    if (g_av_counting && level <= AV_LOG_ERROR) {
        if (g_av_errors++ == 0) {
            va_list copy;
            va_copy(copy, vl);
            const AVClass *cls = avcl ? *(const AVClass *const *)avcl : NULL;
            const char *who = cls && cls->item_name ? cls->item_name(avcl) : NULL;
            if (!who || !*who || !strcmp(who, "NULL")) who = "FFmpeg";
            int at = snprintf(g_av_first, sizeof g_av_first, "%s: ", who);
            if (at > 0 && (size_t)at < sizeof g_av_first) vsnprintf(g_av_first + at, sizeof g_av_first - at, fmt, copy);
            va_end(copy);
            size_t n = strlen(g_av_first);
            while (n && strchr("\n .", g_av_first[n - 1])) g_av_first[--n] = '\0';
        }
    }
    av_log_default_callback(avcl, level, fmt, vl);
}

static int open_video(vs_reader *r, const char *path, char *err, size_t err_size)
{
    char m[256];
    int rc;
    av_log_set_level(AV_LOG_ERROR);
    if ((rc = avformat_open_input(&r->fmt, path, NULL, NULL)) < 0) {
        vs_av_error_text(rc, m, sizeof m);
        snprintf(err, err_size, "%s: not a readable video (FFmpeg: %s)", path, m);
        return -1;
    }
    if ((rc = avformat_find_stream_info(r->fmt, NULL)) < 0) {
        vs_av_error_text(rc, m, sizeof m);
        snprintf(err, err_size, "%s: FFmpeg cannot read its streams: %s", path, m);
        return -1;
    }
    const AVCodec *codec = NULL;
    r->stream = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (r->stream < 0 || !codec) {
        snprintf(err, err_size, "%s: no decodable video stream", path);
        return -1;
    }
    AVStream *st = r->fmt->streams[r->stream];
    if (!(r->dec = avcodec_alloc_context3(codec)) || avcodec_parameters_to_context(r->dec, st->codecpar) < 0 ||
        avcodec_open2(r->dec, codec, NULL) < 0) {
        snprintf(err, err_size, "%s: cannot open the %s decoder", path, codec->name);
        return -1;
    }
    r->frame = av_frame_alloc();
    r->pkt = av_packet_alloc();
    if (!r->frame || !r->pkt) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    r->width = r->dec->width, r->height = r->dec->height;
    if (r->width < 1 || r->height < 1) {
        snprintf(err, err_size, "%s: video of unknown size", path);
        return -1;
    }
    AVRational fr = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
    r->fps = fr.num && fr.den ? av_q2d(fr) : 0;
    r->count = st->nb_frames > 0 ? (int32_t)st->nb_frames
               : (r->fmt->duration > 0 && r->fps > 0) ? (int32_t)(r->fmt->duration / 1e6 * r->fps) : 0;
    /* What the container declares: its frame count (nb_frames), else its duration times the
     * frame rate (a duration FFmpeg only estimated from the bit rate does not count). Where both
     * are there the smaller: some files count more than their frames (H.264 copied into AVI
     * declares two per frame), and a file cut short keeps the header that declares them. */
    double seconds = st->duration > 0 && st->time_base.den ? st->duration * av_q2d(st->time_base)
                     : r->fmt->duration > 0                 ? r->fmt->duration / (double)AV_TIME_BASE
                                                            : 0;
    if (r->fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE) seconds = 0;
    double by_time = -1;
    for (int k = 0; k < 2 && seconds > 0; k++) {
        AVRational q = k ? st->r_frame_rate : st->avg_frame_rate;
        double n = q.num > 0 && q.den > 0 ? seconds * av_q2d(q) : -1;
        if (n > 0 && (by_time < 0 || n < by_time)) by_time = n;
    }
    r->declared = -1, r->declared_from = "";
    if (st->nb_frames > 0) r->declared = (int32_t)st->nb_frames, r->declared_from = "nb_frames";
    if (by_time > 0 && (r->declared < 0 || lround(by_time) < r->declared - VS_FRAMES_SLACK))
        r->declared = (int32_t)lround(by_time), r->declared_from = "duration";
    r->kind = KIND_VIDEO;
    av_log_set_callback(av_log_counting);
    g_av_first[0] = '\0';
    r->log_base = g_av_errors;
    g_av_counting = 1;
    return 0;
}

static int convert_frame(vs_reader *r, char *err, size_t err_size)
{
    AVFrame *f = r->frame;
    if (f->width != r->width || f->height != r->height) {
        snprintf(err, err_size, "the video changes size mid-stream (%dx%d -> %dx%d)", r->width, r->height, f->width,
                 f->height);
        return -1;
    }
    r->sws = sws_getCachedContext(r->sws, f->width, f->height, (enum AVPixelFormat)f->format, r->width, r->height,
                                  AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
    if (!r->sws) {
        snprintf(err, err_size, "cannot convert the video's pixel format to RGB");
        return -1;
    }
    uint8_t *dst[4] = {r->rgb, NULL, NULL, NULL};
    int dst_stride[4] = {3 * r->width, 0, 0, 0};
    sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_stride);
    return 1;
}

/* convert 0: the frame is decoded but not converted to RGB (vs_reader_skip). */
static int next_frame_video(vs_reader *r, int convert, char *err, size_t err_size)
{
    char m[256];
    for (;;) {
        int rc = avcodec_receive_frame(r->dec, r->frame);
        if (rc == 0) {
            if (r->frame->decode_error_flags || (r->frame->flags & AV_FRAME_FLAG_CORRUPT)) r->damaged++;
            rc = convert ? convert_frame(r, err, err_size) : 1;
            av_frame_unref(r->frame);
            if (rc == 1) r->next++;
            return rc;
        }
        if (rc == AVERROR_EOF || (rc == AVERROR(EAGAIN) && r->eof)) return 0;
        if (rc != AVERROR(EAGAIN)) {
            vs_av_error_text(rc, m, sizeof m);
            snprintf(err, err_size, "decoding frame %d: %s", r->next, m);
            return -1;
        }
        /* the decoder wants input: one packet of the stream, or the flush at the end */
        for (;;) {
            int logged = g_av_errors;
            if ((rc = av_read_frame(r->fmt, r->pkt)) < 0) {
                /* the end, or a read error (FFmpeg usually logs it: counted once) */
                if (rc != AVERROR_EOF && g_av_errors == logged) r->api_errors++;
                avcodec_send_packet(r->dec, NULL);
                r->eof = 1;
                break;
            }
            int ours = r->pkt->stream_index == r->stream;
            rc = ours ? avcodec_send_packet(r->dec, r->pkt) : 0;
            if (rc == AVERROR_INVALIDDATA && g_av_errors == logged) r->api_errors++; /* a packet it could not use */
            av_packet_unref(r->pkt);
            if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_INVALIDDATA) {
                vs_av_error_text(rc, m, sizeof m);
                snprintf(err, err_size, "decoding frame %d: %s", r->next, m);
                return -1;
            }
            if (ours) break;
        }
    }
}
#endif

int vs_reader_open(const char *path, vs_reader **out, char *err, size_t err_size)
{
    struct stat sb;
    *out = NULL;
    if (stat(path, &sb) != 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    vs_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    int rc;
    if (S_ISDIR(sb.st_mode)) {
        rc = open_frames(r, path, err, err_size);
    } else {
        unsigned char sig[132] = {0}; /* DICOM's "DICM" is at 128 */
        FILE *f = fopen(path, "rb");
        if (!f) {
            snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
            free(r);
            return -1;
        }
        size_t got = fread(sig, 1, sizeof sig, f);
        fclose(f);
        if (vs_dicom_looks(path, sig, got)) {
#ifdef VENSEG_CLI_HAVE_DCMTK
            rc = open_dicom(r, path, err, err_size);
#else
            snprintf(err, err_size, "%s: a DICOM file, but this venseg was built without DCMTK (libdcmtk-dev), which "
                     "reads DICOM", path);
            rc = -1;
#endif
        } else if (got >= 6 && memcmp(sig, "GIF8", 4) == 0) {
#ifdef VENSEG_CLI_HAVE_GIF
            rc = open_gif(r, path, err, err_size);
#else
            snprintf(err, err_size, "%s: a GIF, but this venseg was built without giflib (libgif-dev)", path);
            rc = -1;
#endif
        } else if (vs_image_kind(sig, got)) {
            snprintf(err, err_size, "%s: a single %s image; give a folder of frames (or use venseg segment)", path,
                     vs_image_kind(sig, got));
            rc = -1;
        } else {
#ifdef VENSEG_CLI_HAVE_LIBAV
            rc = open_video(r, path, err, err_size);
#else
            snprintf(err, err_size, "%s: reading video needs FFmpeg; this venseg was built without it", path);
            rc = -1;
#endif
        }
    }
    if (rc == 0 && !(r->rgb = malloc((size_t)r->width * r->height * 3))) {
        snprintf(err, err_size, "out of memory");
        rc = -1;
    }
    if (rc == 0 && r->kind == KIND_GIF) memset(r->rgb, 0, (size_t)r->width * r->height * 3);
    if (rc != 0) {
        vs_reader_close(r);
        return -1;
    }
    *out = r;
    return 0;
}

void vs_reader_close(vs_reader *r)
{
    if (!r) return;
    vs_strlist_free(&r->names);
    free(r->dir);
#ifdef VENSEG_CLI_HAVE_DCMTK
    vs_dicom_close(r->dicom);
#endif
#ifdef VENSEG_CLI_HAVE_GIF
    if (r->gif) DGifCloseFile(r->gif, NULL);
    free(r->saved);
#endif
#ifdef VENSEG_CLI_HAVE_LIBAV
    if (r->kind == KIND_VIDEO) g_av_counting = 0;
    sws_freeContext(r->sws);
    av_frame_free(&r->frame);
    av_packet_free(&r->pkt);
    avcodec_free_context(&r->dec);
    if (r->fmt) avformat_close_input(&r->fmt);
#endif
    free(r->rgb);
    free(r);
}

int32_t vs_reader_width(const vs_reader *r) { return r->width; }
int32_t vs_reader_height(const vs_reader *r) { return r->height; }
double vs_reader_fps(const vs_reader *r) { return r->fps; }
int32_t vs_reader_frame_count(const vs_reader *r) { return r->count; }
const char *vs_reader_kind(const vs_reader *r)
{
    return r->kind == KIND_VIDEO ? "video" : r->kind == KIND_GIF ? "gif" : r->kind == KIND_DICOM ? "dicom" : "frames";
}

const vs_dicom_info *vs_reader_dicom(const vs_reader *r) { return r->have_dinfo ? &r->dinfo : NULL; }

const char *vs_reader_frame_path(const vs_reader *r) { return r->kind == KIND_FRAMES && r->next > 0 ? r->path : NULL; }

void vs_reader_get_health(const vs_reader *r, vs_reader_health *h)
{
    memset(h, 0, sizeof *h);
    h->frames_declared = r->declared;
    snprintf(h->declared_from, sizeof h->declared_from, "%s", r->declared_from ? r->declared_from : "");
    h->frames_decoded = r->next;
    h->at_end = r->at_end;
    h->decode_errors = r->api_errors;
    h->damaged_frames = r->damaged;
#ifdef VENSEG_CLI_HAVE_LIBAV
    if (r->kind == KIND_VIDEO) {
        h->decode_errors += g_av_errors - r->log_base;
        snprintf(h->first_error, sizeof h->first_error, "%s", g_av_first);
    }
#endif
    if (!h->first_error[0] && h->damaged_frames > 0)
        snprintf(h->first_error, sizeof h->first_error, "%d frame%s decoded only in part", h->damaged_frames,
                 h->damaged_frames == 1 ? "" : "s");
}

int vs_reader_next(vs_reader *r, const uint8_t **rgb, char *err, size_t err_size)
{
    int rc = 0;
    switch (r->kind) {
    case KIND_FRAMES: rc = next_frame_png(r, err, err_size); break;
#ifdef VENSEG_CLI_HAVE_GIF
    case KIND_GIF: rc = next_frame_gif(r, err, err_size); break;
#endif
#ifdef VENSEG_CLI_HAVE_LIBAV
    case KIND_VIDEO: rc = next_frame_video(r, 1, err, err_size); break;
#endif
#ifdef VENSEG_CLI_HAVE_DCMTK
    case KIND_DICOM:
        rc = vs_dicom_next(r->dicom, r->rgb, err, err_size);
        if (rc == 1) r->next++;
        break;
#endif
    default: break;
    }
    *rgb = rc == 1 ? r->rgb : NULL;
    if (rc == 0) r->at_end = 1;
    return rc;
}

int vs_reader_skip(vs_reader *r, char *err, size_t err_size)
{
    const uint8_t *rgb;
    if (r->kind == KIND_FRAMES) { /* not read: only its name moves on */
        if (r->next >= r->count) return 0;
        snprintf(r->path, sizeof r->path, "%s/%s", r->dir, r->names.v[r->next++]);
        return 1;
    }
#ifdef VENSEG_CLI_HAVE_LIBAV
    if (r->kind == KIND_VIDEO) {
        int rc = next_frame_video(r, 0, err, err_size);
        if (rc == 0) r->at_end = 1;
        return rc;
    }
#endif
    return vs_reader_next(r, &rgb, err, err_size); /* a GIF frame is drawn over the last one, and others */
}

/* ---------------------------------------------------------------- GIF out */

struct vs_gif_writer {
#ifdef VENSEG_CLI_HAVE_GIF
    GifFileType *gif;
#endif
    int32_t width, height;
};

int vs_gif_open(const char *path, int32_t width, int32_t height, const uint8_t palette[768], vs_gif_writer **out,
                char *err, size_t err_size)
{
    *out = NULL;
#ifdef VENSEG_CLI_HAVE_GIF
    int e = 0;
    vs_gif_writer *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    g->width = width, g->height = height;
    /* giflib's own open makes the file 0600; this one honours the umask */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        snprintf(err, err_size, "%s: cannot write: %s", path, strerror(errno));
        free(g);
        return -1;
    }
    if (!(g->gif = EGifOpenFileHandle(fd, &e))) {
        snprintf(err, err_size, "%s: cannot write: %s", path, GifErrorString(e));
        close(fd);
        free(g);
        return -1;
    }
    EGifSetGifVersion(g->gif, true);
    ColorMapObject *map = GifMakeMapObject(256, NULL);
    if (!map) {
        snprintf(err, err_size, "out of memory");
        vs_gif_close(g, NULL, 0);
        return -1;
    }
    for (int i = 0; i < 256; i++)
        map->Colors[i].Red = palette[3 * i], map->Colors[i].Green = palette[3 * i + 1],
        map->Colors[i].Blue = palette[3 * i + 2];
    int rc = EGifPutScreenDesc(g->gif, width, height, 8, 0, map);
    GifFreeMapObject(map);
    /* NETSCAPE2.0 application extension: loop forever */
    static const GifByteType loop[3] = {1, 0, 0};
    if (rc == GIF_OK) rc = EGifPutExtensionLeader(g->gif, APPLICATION_EXT_FUNC_CODE);
    if (rc == GIF_OK) rc = EGifPutExtensionBlock(g->gif, 11, "NETSCAPE2.0");
    if (rc == GIF_OK) rc = EGifPutExtensionBlock(g->gif, 3, loop);
    if (rc == GIF_OK) rc = EGifPutExtensionTrailer(g->gif);
    if (rc != GIF_OK) {
        snprintf(err, err_size, "%s: %s", path, GifErrorString(g->gif->Error));
        vs_gif_close(g, NULL, 0);
        return -1;
    }
    *out = g;
    return 0;
#else
    (void)width, (void)height, (void)palette;
    snprintf(err, err_size, "%s: writing GIF needs giflib; this venseg was built without it", path);
    return -1;
#endif
}

int vs_gif_add(vs_gif_writer *g, const uint8_t *index, int delay_cs, char *err, size_t err_size)
{
#ifdef VENSEG_CLI_HAVE_GIF
    GraphicsControlBlock gcb = {DISPOSE_DO_NOT, false, delay_cs, NO_TRANSPARENT_COLOR};
    GifByteType ext[4];
    size_t n = EGifGCBToExtension(&gcb, ext);
    int rc = EGifPutExtension(g->gif, GRAPHICS_EXT_FUNC_CODE, (int)n, ext);
    if (rc == GIF_OK) rc = EGifPutImageDesc(g->gif, 0, 0, g->width, g->height, false, NULL);
    for (int32_t y = 0; rc == GIF_OK && y < g->height; y++)
        rc = EGifPutLine(g->gif, (GifPixelType *)(uintptr_t)(index + (size_t)y * g->width), g->width);
    if (rc != GIF_OK) {
        snprintf(err, err_size, "writing a GIF frame: %s", GifErrorString(g->gif->Error));
        return -1;
    }
    return 0;
#else
    (void)g, (void)index, (void)delay_cs;
    snprintf(err, err_size, "no giflib");
    return -1;
#endif
}

int vs_gif_close(vs_gif_writer *g, char *err, size_t err_size)
{
    int rc = 0;
    if (!g) return 0;
#ifdef VENSEG_CLI_HAVE_GIF
    int e = 0;
    if (g->gif && EGifCloseFile(g->gif, &e) != GIF_OK) {
        if (err) snprintf(err, err_size, "closing the GIF: %s", GifErrorString(e));
        rc = -1;
    }
#else
    (void)err, (void)err_size;
#endif
    free(g);
    return rc;
}

/* ---------------------------------------------------------------- MP4 out */

struct vs_mp4_writer {
#ifdef VENSEG_CLI_HAVE_LIBAV
    AVFormatContext *fmt;
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *frame;
    AVPacket *pkt;
    struct SwsContext *sws;
    int64_t pts;
    int header;
#endif
    int32_t width, height, src_width;
};

#ifdef VENSEG_CLI_HAVE_LIBAV
static int mp4_drain(vs_mp4_writer *m, char *err, size_t err_size)
{
    int rc;
    while ((rc = avcodec_receive_packet(m->enc, m->pkt)) == 0) {
        /* one frame long (time base = 1 / fps): without it the MP4 edit list drops the last frame */
        if (m->pkt->duration <= 0) m->pkt->duration = 1;
        av_packet_rescale_ts(m->pkt, m->enc->time_base, m->st->time_base);
        m->pkt->stream_index = m->st->index;
        if ((rc = av_interleaved_write_frame(m->fmt, m->pkt)) < 0) {
            vs_av_error_text(rc, err, err_size);
            return -1;
        }
    }
    if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
        vs_av_error_text(rc, err, err_size);
        return -1;
    }
    return 0;
}
#endif

int vs_mp4_open(const char *path, int32_t width, int32_t height, double fps, vs_mp4_writer **out,
                const char **codec_name, char *err, size_t err_size)
{
    *out = NULL;
#ifdef VENSEG_CLI_HAVE_LIBAV
    char m[256];
    int rc;
    av_log_set_level(AV_LOG_ERROR);
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec) codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    if (!codec) {
        snprintf(err, err_size, "this FFmpeg has neither libx264 nor an MPEG-4 encoder");
        return -1;
    }
    vs_mp4_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    w->src_width = width;
    w->width = width & ~1, w->height = height & ~1;
    if (w->width < 2 || w->height < 2) {
        snprintf(err, err_size, "frames too small for MP4");
        free(w);
        return -1;
    }
    if ((rc = avformat_alloc_output_context2(&w->fmt, NULL, "mp4", path)) < 0 || !w->fmt) {
        snprintf(err, err_size, "%s: FFmpeg has no MP4 muxer", path);
        vs_mp4_close(w, NULL, 0);
        return -1;
    }
    int den = fps > 0 ? (int)(fps * 1000 + 0.5) : 25000;
    w->st = avformat_new_stream(w->fmt, NULL);
    w->enc = avcodec_alloc_context3(codec);
    w->frame = av_frame_alloc();
    w->pkt = av_packet_alloc();
    if (!w->st || !w->enc || !w->frame || !w->pkt) {
        snprintf(err, err_size, "out of memory");
        vs_mp4_close(w, NULL, 0);
        return -1;
    }
    w->enc->width = w->width, w->enc->height = w->height;
    w->enc->pix_fmt = AV_PIX_FMT_YUV420P;
    w->enc->time_base = (AVRational){1000, den};
    w->enc->framerate = (AVRational){den, 1000};
    w->enc->gop_size = 30;
    w->enc->thread_count = 1;
    if (codec->id == AV_CODEC_ID_MPEG4) w->enc->bit_rate = 2000000;
    else { /* veryfast: the encoder keeps pace beside the network (medium took ~half its time) */
        av_opt_set(w->enc->priv_data, "crf", "20", 0);
        av_opt_set(w->enc->priv_data, "preset", "veryfast", 0);
    }
    if (w->fmt->oformat->flags & AVFMT_GLOBALHEADER) w->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((rc = avcodec_open2(w->enc, codec, NULL)) < 0 || avcodec_parameters_from_context(w->st->codecpar, w->enc) < 0) {
        vs_av_error_text(rc, m, sizeof m);
        snprintf(err, err_size, "cannot open the %s encoder: %s", codec->name, m);
        vs_mp4_close(w, NULL, 0);
        return -1;
    }
    w->st->time_base = w->enc->time_base;
    w->frame->format = AV_PIX_FMT_YUV420P, w->frame->width = w->width, w->frame->height = w->height;
    if (av_frame_get_buffer(w->frame, 0) < 0) {
        snprintf(err, err_size, "out of memory");
        vs_mp4_close(w, NULL, 0);
        return -1;
    }
    if ((rc = avio_open(&w->fmt->pb, path, AVIO_FLAG_WRITE)) < 0) {
        vs_av_error_text(rc, m, sizeof m);
        snprintf(err, err_size, "%s: cannot write: %s", path, m);
        vs_mp4_close(w, NULL, 0);
        return -1;
    }
    if ((rc = avformat_write_header(w->fmt, NULL)) < 0) {
        vs_av_error_text(rc, m, sizeof m);
        snprintf(err, err_size, "%s: %s", path, m);
        vs_mp4_close(w, NULL, 0);
        return -1;
    }
    w->header = 1;
    w->sws = sws_getContext(w->width, w->height, AV_PIX_FMT_RGB24, w->width, w->height, AV_PIX_FMT_YUV420P,
                            SWS_BILINEAR, NULL, NULL, NULL);
    if (!w->sws) {
        snprintf(err, err_size, "cannot convert RGB to YUV");
        vs_mp4_close(w, NULL, 0);
        return -1;
    }
    if (codec_name) *codec_name = codec->name;
    *out = w;
    return 0;
#else
    (void)width, (void)height, (void)fps, (void)codec_name;
    snprintf(err, err_size, "%s: writing MP4 needs FFmpeg; this venseg was built without it", path);
    return -1;
#endif
}

int vs_mp4_add(vs_mp4_writer *w, const uint8_t *rgb, char *err, size_t err_size)
{
#ifdef VENSEG_CLI_HAVE_LIBAV
    if (av_frame_make_writable(w->frame) < 0) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    const uint8_t *src[4] = {rgb, NULL, NULL, NULL};
    int src_stride[4] = {3 * w->src_width, 0, 0, 0};
    sws_scale(w->sws, src, src_stride, 0, w->height, w->frame->data, w->frame->linesize);
    w->frame->pts = w->pts++;
    if (avcodec_send_frame(w->enc, w->frame) < 0) {
        snprintf(err, err_size, "encoding an MP4 frame failed");
        return -1;
    }
    return mp4_drain(w, err, err_size);
#else
    (void)w, (void)rgb;
    snprintf(err, err_size, "no FFmpeg");
    return -1;
#endif
}

int vs_mp4_close(vs_mp4_writer *w, char *err, size_t err_size)
{
    int rc = 0;
    if (!w) return 0;
#ifdef VENSEG_CLI_HAVE_LIBAV
    char tmp[256];
    if (w->header) {
        if (avcodec_send_frame(w->enc, NULL) < 0 || mp4_drain(w, tmp, sizeof tmp) != 0 ||
            av_write_trailer(w->fmt) < 0) {
            if (err) snprintf(err, err_size, "finishing the MP4 failed");
            rc = -1;
        }
    }
    if (w->fmt && w->fmt->pb) avio_closep(&w->fmt->pb);
    avformat_free_context(w->fmt);
    avcodec_free_context(&w->enc);
    av_frame_free(&w->frame);
    av_packet_free(&w->pkt);
    sws_freeContext(w->sws);
#else
    (void)err, (void)err_size;
#endif
    free(w);
    return rc;
}
