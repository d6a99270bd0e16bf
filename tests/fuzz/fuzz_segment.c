/* libFuzzer target: frame input validation and segmentation (venseg_segment) on the tiny
 * test model, with fuzzed pixel format, frame size, strides (valid and invalid), ROI,
 * pixel spacing, session options and pixel values. Every buffer is allocated to exactly
 * the bytes the documented contract needs for the arguments passed, so ASan reports any
 * access the library makes beyond them. Checked after each successful call: labels are
 * 0..classes, nothing outside the ROI is labelled, and the instances account for every
 * labelled pixel. */
#include <stdlib.h>
#include <string.h>

#include <venseg/venseg.h>

#include "fuzz_input.h"

#ifndef VENSEG_FUZZ_MODEL
#error "VENSEG_FUZZ_MODEL (path of tests/data/tiny_plain_unet.vseg) must be defined by the build"
#endif

static venseg_model *model(void)
{
    static venseg_model *m;
    if (!m && venseg_model_load_file(VENSEG_FUZZ_MODEL, &m) != VENSEG_OK) {
        fprintf(stderr, "cannot load %s: %s\n", VENSEG_FUZZ_MODEL, venseg_last_error());
        abort();
    }
    return m;
}

/* Bytes spanned by `rows` rows of `row_bytes` bytes, `stride` apart (0 if invalid). */
static size_t span(int64_t stride, int rows, int64_t row_bytes)
{
    if (stride < row_bytes || rows < 1 || row_bytes < 1) return 0;
    return (size_t)((rows - 1) * stride + row_bytes);
}

static void *alloc_filled(size_t n, fuzz_input *in)
{
    uint8_t *p = malloc(n ? n : 1);
    if (!p) abort();
    for (size_t i = 0; i < n; i++) p[i] = fuzz_u8(in) ^ (uint8_t)(i * 131); /* past the input: a pattern */
    return p;
}

/* One venseg_segment call with fuzzed arguments on session s. */
static void segment_once(venseg_session *s, fuzz_input *in, int n_classes, int roi[4])
{
    const int format = fuzz_range(in, 0, 6); /* 0 and 6 are not formats */
    const int bpp = format == 1 ? 1 : format == 2 || format == 3 ? 3 : format == 4 ? 2 : format == 5 ? 4 : 1;
    int w = fuzz_range(in, -1, 96), h = fuzz_range(in, -1, 96);
    if (fuzz_u8(in) == 255) w = fuzz_bool(in) ? 40000 : 1; /* beyond the frame limit, or a sliver */
    const int64_t row_stride = (int64_t)w * bpp + fuzz_range(in, -2, 13);
    const int64_t mask_stride = (int64_t)w + fuzz_range(in, -2, 13);
    const int with_probs = fuzz_bool(in);
    const int64_t prob_stride = (int64_t)w + fuzz_range(in, -2, 13);
    const int null_arg = fuzz_range(in, 0, 15); /* 1..3: one NULL argument */

    const int ok_dims = w >= 1 && h >= 1 && w <= 32768 && h <= 32768;
    size_t px_bytes = ok_dims ? span(row_stride, h, (int64_t)w * bpp) : 0;
    size_t mask_bytes = ok_dims ? span(mask_stride, h, w) : 0;
    size_t prob_floats = ok_dims && with_probs ? span(prob_stride, n_classes * h, w) : 0;
    if (px_bytes > (1u << 22)) px_bytes = 0; /* 40000-wide frames: only the checks run */
    uint8_t *px = alloc_filled(px_bytes, in);
    uint8_t *mask = malloc(mask_bytes ? mask_bytes : 1);
    float *probs = malloc((prob_floats ? prob_floats : 1) * sizeof *probs);
    if (!mask || !probs) abort();
    memset(mask, 0xAB, mask_bytes ? mask_bytes : 1);

    if (ok_dims && !px_bytes && row_stride >= (int64_t)w * bpp) goto done; /* too big to fill: skip */
    venseg_status st = venseg_segment(null_arg == 1 ? NULL : s, null_arg == 2 ? NULL : px, (venseg_pixel_format)format, w, h,
                            row_stride, null_arg == 3 ? NULL : mask, mask_stride, with_probs ? probs : NULL,
                            prob_stride);
    FUZZ_CHECK_DETAIL(st);
    const int valid = (null_arg < 1 || null_arg > 3) && format >= 1 && format <= 5 && ok_dims && px_bytes && mask_bytes &&
                      (!with_probs || prob_floats) && (!roi[2] || (roi[0] + roi[2] <= w && roi[1] + roi[3] <= h));
    if ((st == VENSEG_OK) != valid)
        fprintf(stderr, "format %d, %d x %d, strides %lld %lld %lld (probs %d), roi %d %d %d %d: %s (%s)\n", format, w, h,
                (long long)row_stride, (long long)mask_stride, (long long)prob_stride, with_probs, roi[0], roi[1], roi[2],
                roi[3], venseg_status_name(st), venseg_last_error());
    FUZZ_CHECK((st == VENSEG_OK) == valid); /* exactly the valid calls succeed (sizes here stay far from overflow) */
    if (!st) {
        int64_t labelled = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t v = mask[(size_t)y * mask_stride + x];
                FUZZ_CHECK(v <= n_classes);
                const int in_roi = !roi[2] || (x >= roi[0] && x < roi[0] + roi[2] && y >= roi[1] && y < roi[1] + roi[3]);
                FUZZ_CHECK(in_roi || v == 0);
                labelled += v != 0;
                if (with_probs && !in_roi)
                    for (int c = 0; c < n_classes; c++)
                        FUZZ_CHECK(probs[((size_t)c * h + y) * prob_stride + x] == 0.0f);
            }
        int32_t count = -1;
        FUZZ_CHECK(venseg_session_instance_count(s, &count) == VENSEG_OK && count >= 0);
        int64_t area = 0;
        for (int32_t i = 0; i < count; i++) {
            venseg_instance inst;
            memset(&inst, 0, sizeof inst);
            inst.struct_size = sizeof inst;
            FUZZ_CHECK(venseg_session_instance(s, i, &inst) == VENSEG_OK);
            FUZZ_CHECK(inst.label >= 1 && inst.label <= n_classes && inst.area_px >= 1);
            if (!(inst.bbox_x >= 0 && inst.bbox_y >= 0 && inst.bbox_x + inst.bbox_width <= w &&
                  inst.bbox_y + inst.bbox_height <= h))
                fprintf(stderr, "instance %d of %d: bbox (%d, %d, %d x %d), area %lld, in a %d x %d frame, roi %d %d %d %d\n", i,
                        count, inst.bbox_x, inst.bbox_y, inst.bbox_width, inst.bbox_height, (long long)inst.area_px, w, h,
                        roi[0], roi[1], roi[2], roi[3]);
            FUZZ_CHECK(inst.bbox_x >= 0 && inst.bbox_y >= 0 && inst.bbox_x + inst.bbox_width <= w &&
                       inst.bbox_y + inst.bbox_height <= h);
            area += inst.area_px;
        }
        FUZZ_CHECK(area == labelled);
    }
done:
    free(px);
    free(mask);
    free(probs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    venseg_model *m = model();
    int32_t n_classes = 0;
    venseg_model_num_classes(m, &n_classes);

    venseg_options *o = NULL;
    FUZZ_CHECK(venseg_options_create(&o) == VENSEG_OK);
    FUZZ_CHECK(venseg_options_set(o, VENSEG_OPT_BACKEND, VENSEG_BACKEND_REFERENCE) == VENSEG_OK);
    FUZZ_CHECK(venseg_options_set(o, VENSEG_OPT_NUM_THREADS, 1) == VENSEG_OK);
    /* fuzzed options: out-of-range values must be refused and leave the options as they were */
    const venseg_option keys[] = {VENSEG_OPT_MIN_INSTANCE_AREA, VENSEG_OPT_THRESHOLD_PERMILLE, VENSEG_OPT_DEVICE,
                                  (venseg_option)fuzz_u16(&in)};
    for (int i = 0; i < 4; i++) {
        int64_t before = -7, after = -7, value = (int64_t)fuzz_range(&in, -3, 1100);
        if (keys[i] == VENSEG_OPT_BACKEND || keys[i] == VENSEG_OPT_PRECISION) continue; /* stay on the reference fp32 */
        venseg_status gs = venseg_options_get(o, keys[i], &before);
        venseg_status st = venseg_options_set(o, keys[i], value);
        FUZZ_CHECK_DETAIL(st);
        if (st && !gs) FUZZ_CHECK(venseg_options_get(o, keys[i], &after) == VENSEG_OK && after == before);
    }
    venseg_session *s = NULL;
    FUZZ_CHECK(venseg_session_create(m, o, &s) == VENSEG_OK);
    venseg_options_free(o);

    int roi[4] = {0, 0, 0, 0};
    const int rounds = fuzz_range(&in, 1, 3);
    for (int r = 0; r < rounds; r++) {
        if (fuzz_bool(&in)) { /* a new ROI: refused ones keep the old */
            int x = fuzz_range(&in, -2, 60), y = fuzz_range(&in, -2, 60);
            int rw = fuzz_range(&in, -1, 60), rh = fuzz_range(&in, -1, 60);
            venseg_status st = venseg_session_set_roi(s, x, y, rw, rh);
            FUZZ_CHECK_DETAIL(st);
            FUZZ_CHECK((st == VENSEG_OK) == (rw == 0 || rh == 0 || (x >= 0 && y >= 0 && rw > 0 && rh > 0)));
            if (!st) {
                roi[0] = x, roi[1] = y, roi[2] = rw && rh ? rw : 0, roi[3] = rw && rh ? rh : 0;
            }
        }
        if (fuzz_bool(&in)) FUZZ_CHECK_DETAIL(venseg_session_set_pixel_spacing(s, fuzz_double(&in), fuzz_double(&in)));
        segment_once(s, &in, n_classes, roi);
    }
    venseg_session_free(s);
    return 0;
}
