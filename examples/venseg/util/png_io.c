/* png_io.c: see png_io.h. */
#include "util/png_io.h"

#include <png.h>
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cli_util.h"

enum { MAX_SIDE = 1 << 15 };

typedef struct {
    char *err;
    size_t err_size;
} err_ctx;

static void on_error(png_structp png, png_const_charp msg)
{
    err_ctx *ctx = png_get_error_ptr(png);
    snprintf(ctx->err, ctx->err_size, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png, (void)msg; /* warnings (bad iCCP, ...) are not errors here */
}

static int read_png(const char *path, int as_label, vs_png *out, char *err, size_t err_size)
{
    FILE *f;
    png_structp png = NULL;
    png_infop info = NULL;
    unsigned char sig[8];
    err_ctx ctx = {err, err_size};
    uint8_t *volatile data = NULL;
    png_bytep *volatile rows = NULL;
    png_uint_32 w, h;
    int depth, color, channels, bits;
    size_t rowbytes;

    memset(out, 0, sizeof *out);
    if ((f = fopen(path, "rb")) == NULL) {
        snprintf(err, err_size, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8) != 0) {
        snprintf(err, err_size, "not a PNG file");
        fclose(f);
        return -1;
    }
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    if (png != NULL)
        info = png_create_info_struct(png);
    if (png == NULL || info == NULL) {
        snprintf(err, err_size, "out of memory");
        png_destroy_read_struct(&png, NULL, NULL);
        fclose(f);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        free(data);
        fclose(f);
        return -1;
    }
    png_set_user_limits(png, MAX_SIDE, MAX_SIDE);
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_get_IHDR(png, info, &w, &h, &depth, &color, NULL, NULL, NULL);

    /* Transformations: no gamma, no tRNS expansion (alpha is dropped anyway). */
    bits = 8;
    if (color == PNG_COLOR_TYPE_PALETTE) {
        if (as_label) {
            png_set_packing(png); /* the raw index, one byte per pixel */
            channels = 1;
        } else {
            png_set_palette_to_rgb(png);
            channels = 3;
        }
    } else if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) {
        if (depth < 8)
            png_set_expand_gray_1_2_4_to_8(png);
        if (color == PNG_COLOR_TYPE_GRAY_ALPHA)
            png_set_strip_alpha(png);
        channels = 1;
        if (depth == 16) {
            bits = 16;
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            png_set_swap(png);
#endif
        }
    } else {
        if (color & PNG_COLOR_MASK_ALPHA)
            png_set_strip_alpha(png);
        if (depth == 16)
            png_set_strip_16(png);
        channels = 3;
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    rowbytes = png_get_rowbytes(png, info);
    if (rowbytes != (size_t)w * (size_t)channels * (size_t)(bits / 8)) {
        snprintf(err, err_size, "unexpected PNG layout");
        png_longjmp(png, 1);
    }
    data = malloc(rowbytes * h);
    rows = malloc(sizeof *rows * h);
    if (data == NULL || rows == NULL) {
        snprintf(err, err_size, "out of memory");
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = data + y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    fclose(f);

    out->width = (int32_t)w;
    out->height = (int32_t)h;
    out->channels = channels;
    out->bits = bits;
    out->data = data;
    return 0;
}

int vs_png_read_image(const char *path, vs_png *out, char *err, size_t err_size)
{
    return read_png(path, 0, out, err, err_size);
}

int vs_png_read_label(const char *path, vs_png *out, char *err, size_t err_size)
{
    vs_png p;
    size_t n;
    uint8_t *v;

    if (read_png(path, 1, &p, err, err_size) != 0)
        return -1;
    n = (size_t)p.width * (size_t)p.height;
    if ((v = malloc(n ? n : 1)) == NULL) {
        snprintf(err, err_size, "out of memory");
        vs_png_free(&p);
        return -1;
    }
    if (p.bits == 16) {
        const uint16_t *s = (const uint16_t *)(const void *)p.data;
        for (size_t i = 0; i < n; i++) {
            if (s[i] > 255) {
                snprintf(err, err_size, "16-bit label value %u > 255", (unsigned)s[i]);
                free(v), vs_png_free(&p);
                return -1;
            }
            v[i] = (uint8_t)s[i];
        }
    } else if (p.channels == 3) {
        for (size_t i = 0; i < n; i++) {
            const uint8_t *px = p.data + 3 * i;
            if (px[0] != px[1] || px[0] != px[2]) {
                snprintf(err, err_size,
                         "colour label PNG (pixel %zu is %u,%u,%u): labels must be grey or palette values",
                         i, px[0], px[1], px[2]);
                free(v), vs_png_free(&p);
                return -1;
            }
            v[i] = px[0];
        }
    } else {
        memcpy(v, p.data, n);
    }
    free(p.data);
    out->width = p.width;
    out->height = p.height;
    out->channels = 1;
    out->bits = 8;
    out->data = v;
    return 0;
}

void vs_png_free(vs_png *png)
{
    free(png->data);
    png->data = NULL;
}

int vs_png_write_gray(const char *path, const uint8_t *data, int32_t width, int32_t height, int64_t stride,
                      char *err, size_t err_size)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)width;
    img.height = (png_uint_32)height;
    img.format = PNG_FORMAT_GRAY;
    if (!png_image_write_to_file(&img, path, 0, data, (png_int_32)stride, NULL)) {
        snprintf(err, err_size, "%s", img.message);
        return -1;
    }
    return 0;
}

static void rgb_image(png_image *img, int32_t width, int32_t height)
{
    memset(img, 0, sizeof *img);
    img->version = PNG_IMAGE_VERSION;
    img->width = (png_uint_32)width;
    img->height = (png_uint_32)height;
    img->format = PNG_FORMAT_RGB;
}

int vs_png_write_rgb(const char *path, const uint8_t *rgb, int32_t width, int32_t height, char *err,
                     size_t err_size)
{
    png_image img;
    rgb_image(&img, width, height);
    if (!png_image_write_to_file(&img, path, 0, rgb, (png_int_32)width * 3, NULL)) {
        snprintf(err, err_size, "%s", img.message);
        return -1;
    }
    return 0;
}

int vs_png_encode_rgb(const uint8_t *rgb, int32_t width, int32_t height, uint8_t **out, size_t *size)
{
    png_image img;
    png_alloc_size_t n = 0;
    rgb_image(&img, width, height);
    *out = NULL;
    if (!png_image_write_get_memory_size(img, n, 0, rgb, (png_int_32)width * 3, NULL) || !(*out = malloc(n)))
        return -1;
    rgb_image(&img, width, height);
    if (!png_image_write_to_memory(&img, *out, &n, 0, rgb, (png_int_32)width * 3, NULL)) {
        free(*out);
        *out = NULL;
        return -1;
    }
    *size = n;
    return 0;
}

venseg_pixel_format vs_png_pixel_format(const vs_png *png, int64_t *stride)
{
    *stride = (int64_t)png->width * png->channels * (png->bits / 8);
    return png->channels == 3 ? VENSEG_PIXEL_RGB8 : png->bits == 16 ? VENSEG_PIXEL_GRAY16 : VENSEG_PIXEL_GRAY8;
}

void vs_png_to_rgb(const vs_png *png, uint8_t *rgb)
{
    size_t n = (size_t)png->width * (size_t)png->height;
    if (png->channels == 3) {
        memcpy(rgb, png->data, n * 3);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t v = png->bits == 16 ? (uint8_t)(((const uint16_t *)(const void *)png->data)[i] >> 8) : png->data[i];
        rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = v;
    }
}

int vs_label_path_beside(const char *image, char *out, size_t size)
{
    size_t n = strlen(image);
    for (int k = 0; k < VS_IMAGE_EXT_COUNT; k++) /* "a/b.png", "a/b.jpg", ... -> "a/b" */
        if (n > strlen(vs_image_exts[k]) && vs_has_ext(image, vs_image_exts[k])) {
            n -= strlen(vs_image_exts[k]);
            break;
        }
    int w = snprintf(out, size, "%.*s_label.png", (int)n, image);
    return w < 0 || (size_t)w >= size ? -1 : 0;
}
