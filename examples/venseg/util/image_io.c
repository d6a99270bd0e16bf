/* image_io.c: see image_io.h. */
#include "util/image_io.h"
#include "util/dicom_io.h"
#include "util/media.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef VENSEG_CLI_HAVE_LIBAV
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#endif

enum { MAX_SIDE = 1 << 15 };

const char *vs_image_kind(const unsigned char *h, size_t n)
{
    if (n >= 8 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0) return "PNG";
    if (n >= 3 && h[0] == 0xff && h[1] == 0xd8 && h[2] == 0xff) return "JPEG";
    if (n >= 14 && h[0] == 'B' && h[1] == 'M') return "BMP";
    if (n >= 4 && (memcmp(h, "II*\0", 4) == 0 || memcmp(h, "MM\0*", 4) == 0)) return "TIFF";
    return NULL;
}

int vs_image_kind_supported(const char *kind)
{
    if (!kind) return 0;
    if (!strcmp(kind, "PNG")) return 1;
#ifdef VENSEG_CLI_HAVE_LIBAV
    return 1;
#else
    return 0;
#endif
}

#ifdef VENSEG_CLI_HAVE_LIBAV

/* The decoded frame into out, as vs_png_read_image lays images out. 0, or -1 with a message. */
static int frame_to_image(const AVFrame *f, const char *kind, vs_png *out, char *err, size_t err_size)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    if (!d) {
        snprintf(err, err_size, "a %s image of an unknown pixel format", kind);
        return -1;
    }
    if (f->width < 1 || f->height < 1 || f->width > MAX_SIDE || f->height > MAX_SIDE) {
        snprintf(err, err_size, "a %s image of %dx%d px (at most %d a side)", kind, f->width, f->height, MAX_SIDE);
        return -1;
    }
    /* grey stays grey (16 bit when deeper than 8), everything else becomes RGB */
    int grey = d->nb_components <= 2 && !(d->flags & AV_PIX_FMT_FLAG_PAL);
    int bits = grey && d->comp[0].depth > 8 ? 16 : 8, channels = grey ? 1 : 3;
    enum AVPixelFormat want = grey ? (bits == 16 ? AV_PIX_FMT_GRAY16 : AV_PIX_FMT_GRAY8) : AV_PIX_FMT_RGB24;
    size_t row = (size_t)f->width * channels * (bits / 8);
    uint8_t *data = malloc(row * (size_t)f->height);
    if (!data) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    if (f->format == want) { /* 8-bit grey JPEGs: the decoder's own values */
        for (int y = 0; y < f->height; y++) memcpy(data + row * y, f->data[0] + (ptrdiff_t)y * f->linesize[0], row);
    } else {
        struct SwsContext *sws =
            sws_getContext(f->width, f->height, (enum AVPixelFormat)f->format, f->width, f->height, want,
                           SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
        if (!sws) {
            free(data);
            snprintf(err, err_size, "a %s image in %s pixels, which cannot be converted to %s", kind, d->name,
                     grey ? "grey" : "RGB");
            return -1;
        }
        if (!(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL)) && d->nb_components >= 3) {
            /* YUV: JPEG's full range unless the decoder says otherwise */
            int *inv, src_range, *table, dst_range, brightness, contrast, saturation;
            if (sws_getColorspaceDetails(sws, &inv, &src_range, &table, &dst_range, &brightness, &contrast,
                                         &saturation) >= 0) {
                src_range = src_range || f->color_range == AVCOL_RANGE_JPEG;
                sws_setColorspaceDetails(sws, inv, src_range, table, 1, brightness, contrast, saturation);
            }
        }
        uint8_t *dst[4] = {data, NULL, NULL, NULL};
        int dst_stride[4] = {(int)row, 0, 0, 0};
        sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_stride);
        sws_freeContext(sws);
    }
    out->width = f->width, out->height = f->height;
    out->channels = channels, out->bits = bits;
    out->data = data;
    return 0;
}

/* Whether a JPEG has its end-of-image marker (FF D9) after the start of its first scan (FF DA):
 * the compressed data cannot hold one (an FF there is followed by 00 or a restart marker), an
 * embedded thumbnail ends before it, and a file cut short has none. */
static int jpeg_complete(const uint8_t *d, size_t n)
{
    size_t i = 2;
    while (i + 1 < n && !(d[i] == 0xff && d[i + 1] == 0xda)) i++;
    for (i += 2; i + 1 < n; i++)
        if (d[i] == 0xff && d[i + 1] == 0xd9) return 1;
    return 0;
}

/* The whole file is one packet for the image decoder, as FFmpeg's image2 demuxer does it. */
static int read_ffmpeg(FILE *file, const char *kind, vs_png *out, char *err, size_t err_size)
{
    enum AVCodecID id = !strcmp(kind, "JPEG") ? AV_CODEC_ID_MJPEG : !strcmp(kind, "BMP") ? AV_CODEC_ID_BMP
                                                                                           : AV_CODEC_ID_TIFF;
    const AVCodec *codec = avcodec_find_decoder(id);
    AVCodecContext *dec = NULL;
    AVPacket *pkt = NULL;
    AVFrame *frame = NULL;
    char m[256];
    int rc = -1, r;
    long size;
    if (!codec) {
        snprintf(err, err_size, "a %s image, but this FFmpeg has no %s decoder", kind, avcodec_get_name(id));
        return -1;
    }
    if (fseek(file, 0, SEEK_END) != 0 || (size = ftell(file)) < 0 || fseek(file, 0, SEEK_SET) != 0) {
        snprintf(err, err_size, "cannot read: %s", strerror(errno));
        return -1;
    }
    if (size > (1L << 30)) {
        snprintf(err, err_size, "a %s image of more than 1 GiB", kind);
        return -1;
    }
    av_log_set_level(AV_LOG_QUIET); /* the errors come back here, named */
    if (!(dec = avcodec_alloc_context3(codec)) || !(pkt = av_packet_alloc()) || !(frame = av_frame_alloc()) ||
        av_new_packet(pkt, (int)size) < 0) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    if (fread(pkt->data, 1, (size_t)size, file) != (size_t)size) {
        snprintf(err, err_size, "cannot read: %s", ferror(file) ? strerror(errno) : "the file shrank");
        goto done;
    }
    pkt->flags |= AV_PKT_FLAG_KEY;
    if (id == AV_CODEC_ID_MJPEG && !jpeg_complete(pkt->data, (size_t)size)) {
        /* FFmpeg would decode the part that is there and grey out the rest, silently */
        snprintf(err, err_size, "a truncated JPEG image (no end-of-image marker after its data): the file is cut short");
        goto done;
    }
    dec->thread_count = 1;
    if ((r = avcodec_open2(dec, codec, NULL)) < 0) {
        vs_av_error_text(r, m, sizeof m);
        snprintf(err, err_size, "a %s image, but FFmpeg's %s decoder does not open: %s", kind, codec->name, m);
        goto done;
    }
    r = avcodec_send_packet(dec, pkt);
    if (r >= 0) r = avcodec_send_packet(dec, NULL);
    if (r >= 0 || r == AVERROR_EOF) r = avcodec_receive_frame(dec, frame);
    if (r < 0) {
        vs_av_error_text(r, m, sizeof m);
        snprintf(err, err_size, "a damaged or unsupported %s image (FFmpeg: %s)", kind, m);
        goto done;
    }
    if (frame->decode_error_flags || (frame->flags & AV_FRAME_FLAG_CORRUPT)) {
        snprintf(err, err_size, "a damaged %s image (FFmpeg decoded it only in part)", kind);
        goto done;
    }
    rc = frame_to_image(frame, kind, out, err, err_size);
done:
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    return rc;
}
#endif

int vs_image_read(const char *path, vs_png *out, char *err, size_t err_size)
{
    unsigned char head[132]; /* DICOM's "DICM" is at 128 */
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "cannot open: %s", strerror(errno));
        return -1;
    }
    size_t n = fread(head, 1, sizeof head, f);
    if (vs_dicom_looks(path, head, n)) {
        fclose(f);
#ifdef VENSEG_CLI_HAVE_DCMTK
        vs_dicom_info info;
        if (vs_dicom_read_frame(path, 0, out, &info, err, err_size) != 0) return -1;
        if (info.frames > 1) { /* a frame of a folder, or one image: not a clip's first frame only */
            vs_png_free(out);
            snprintf(err, err_size,
                     VS_DICOM_UNSUPPORTED "a multi-frame file (%d frames) where one image is read: give it to venseg "
                                          "analyze as the clip, or to venseg segment as a file",
                     info.frames);
            return -1;
        }
        return 0;
#else
        snprintf(err, err_size, "a DICOM file, but this venseg was built without DCMTK (libdcmtk-dev), which reads DICOM");
        return -1;
#endif
    }
    const char *kind = vs_image_kind(head, n);
    if (!kind || !strcmp(kind, "PNG")) {
        fclose(f);
        if (kind) return vs_png_read_image(path, out, err, err_size);
        snprintf(err, err_size, "not a PNG, JPEG, BMP or TIFF image");
        return -1;
    }
#ifdef VENSEG_CLI_HAVE_LIBAV
    int rc = read_ffmpeg(f, kind, out, err, err_size);
    fclose(f);
    return rc;
#else
    fclose(f);
    snprintf(err, err_size,
             "a %s image, but this venseg was built without FFmpeg (libavcodec), which decodes it; convert it to "
             "PNG or rebuild with FFmpeg",
             kind);
    return -1;
#endif
}
