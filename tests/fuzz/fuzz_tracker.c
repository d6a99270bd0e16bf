/* libFuzzer target: tracker push sequences (venseg_tracking.h). A fuzzed configuration
 * (any key, any double: bad ones must be refused), then a script of pushes of fuzzed
 * label masks (sizes that change, strides valid and invalid, labels of every value),
 * segmented frames through a session on the tiny model, resets and result queries.
 * Checked: results stay consistent with what was pushed, and the tracker and the exam
 * keep working after every refused call. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <venseg/venseg.h>

#include "fuzz_input.h"

#ifndef VENSEG_FUZZ_MODEL
#error "VENSEG_FUZZ_MODEL (path of tests/data/tiny_plain_unet.vseg) must be defined by the build"
#endif

static venseg_session *session(void)
{
    static venseg_session *s;
    if (s) return s;
    venseg_model *m = NULL;
    venseg_options *o = NULL;
    if (venseg_model_load_file(VENSEG_FUZZ_MODEL, &m) || venseg_options_create(&o) ||
        venseg_options_set(o, VENSEG_OPT_BACKEND, VENSEG_BACKEND_REFERENCE) ||
        venseg_options_set(o, VENSEG_OPT_NUM_THREADS, 1) || venseg_options_set(o, VENSEG_OPT_THRESHOLD_PERMILLE, 500) ||
        venseg_session_create(m, o, &s)) {
        fprintf(stderr, "cannot set up %s: %s\n", VENSEG_FUZZ_MODEL, venseg_last_error());
        abort();
    }
    venseg_options_free(o);
    venseg_model_free(m); /* the session keeps it */
    return s;
}

/* Labels: mostly 0/artery/vein blobs (so tracks form), sometimes any byte. */
static uint8_t *mask_of(fuzz_input *in, int w, int h, int64_t stride, size_t bytes)
{
    uint8_t *p = malloc(bytes ? bytes : 1);
    if (!p) abort();
    const int raw = fuzz_u8(in) < 32;
    w = w > 0 ? w : 1, h = h > 0 ? h : 1;
    const int cx = fuzz_range(in, 0, w), cy = fuzz_range(in, 0, h), r = fuzz_range(in, 0, 40);
    const int cx2 = fuzz_range(in, 0, w), cy2 = fuzz_range(in, 0, h), r2 = fuzz_range(in, 0, 40);
    for (size_t i = 0; i < bytes; i++) {
        int x = (int)(i % (size_t)stride), y = (int)(i / (size_t)stride);
        if (raw) p[i] = fuzz_u8(in);
        else if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r) p[i] = 1;
        else if ((x - cx2) * (x - cx2) + (y - cy2) * (y - cy2) < r2 * r2) p[i] = 2;
        else p[i] = (fuzz_u8(in) & 0x0f) == 0 ? (uint8_t)fuzz_range(in, 0, 3) : 0;
    }
    return p;
}

static void check_results(const venseg_tracker *t, int32_t pushed_ok)
{
    venseg_track_summary s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    FUZZ_CHECK(venseg_tracker_summary(t, &s) == VENSEG_OK);
    FUZZ_CHECK(s.frames_pushed == pushed_ok && s.frames_analysed >= 0 && s.frames_analysed <= s.frames_pushed);
    FUZZ_CHECK(s.verdict >= VENSEG_VERDICT_INDETERMINATE && s.verdict <= VENSEG_VERDICT_NON_COMPRESSIBLE);
    FUZZ_CHECK(isnan(s.compressibility_percent) || (s.compressibility_percent >= 0 && s.compressibility_percent <= 100));
    int32_t count = -1;
    FUZZ_CHECK(venseg_tracker_curve(t, VENSEG_AREA_PX, 0, &count, NULL, NULL, NULL, NULL) ==
               (s.frames_analysed ? VENSEG_E_BUFFER_TOO_SMALL : VENSEG_OK));
    FUZZ_CHECK(count == s.frames_analysed);
    if (count > 0) {
        int32_t *fi = malloc((size_t)count * sizeof *fi);
        double *v = malloc((size_t)count * sizeof *v), *sm = malloc((size_t)count * sizeof *sm),
               *a = malloc((size_t)count * sizeof *a);
        if (!fi || !v || !sm || !a) abort();
        FUZZ_CHECK(venseg_tracker_curve(t, VENSEG_AREA_PX, count, &count, fi, v, sm, a) == VENSEG_OK);
        for (int32_t i = 0; i < count; i++) {
            FUZZ_CHECK(fi[i] >= 0 && fi[i] < pushed_ok && (i == 0 || fi[i] > fi[i - 1]));
            FUZZ_CHECK(v[i] >= 0 && a[i] >= 0 && sm[i] >= 0);
        }
        free(fi), free(v), free(sm), free(a);
        venseg_track_frame f;
        memset(&f, 0, sizeof f);
        f.struct_size = sizeof f;
        FUZZ_CHECK(venseg_tracker_frame(t, -1, &f) == VENSEG_OK && f.analysed_index == count - 1);
        FUZZ_CHECK(venseg_tracker_frame(t, count, &f) == VENSEG_E_NOT_FOUND);
    }
    int32_t n = -1;
    FUZZ_CHECK(venseg_tracker_instance_count(t, &n) == VENSEG_OK && n >= 0 && n <= 64);
    for (int32_t i = 0; i < n; i++) {
        venseg_tracked_instance ti;
        memset(&ti, 0, sizeof ti);
        ti.struct_size = sizeof ti;
        FUZZ_CHECK(venseg_tracker_instance(t, i, &ti) == VENSEG_OK && ti.area_px >= 1 && ti.track_id >= 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    venseg_tracker_config *cfg = NULL;
    FUZZ_CHECK(venseg_tracker_config_create(&cfg) == VENSEG_OK);
    const int n_sets = fuzz_range(&in, 0, 8);
    for (int i = 0; i < n_sets; i++) {
        venseg_tracker_key key = (venseg_tracker_key)fuzz_range(&in, -1, 19);
        double before = NAN, after = NAN, value = fuzz_double(&in);
        venseg_status gs = venseg_tracker_config_get(cfg, key, &before);
        venseg_status st = venseg_tracker_config_set(cfg, key, value);
        FUZZ_CHECK_DETAIL(st);
        if (st && !gs) FUZZ_CHECK(venseg_tracker_config_get(cfg, key, &after) == VENSEG_OK && after == before);
        if (!st) FUZZ_CHECK(venseg_tracker_config_get(cfg, key, &after) == VENSEG_OK && after == value);
    }
    if (fuzz_bool(&in)) {
        char site[80];
        int len = fuzz_range(&in, 0, 70);
        for (int i = 0; i < len; i++) site[i] = (char)(fuzz_u8(&in) | 1);
        site[len] = '\0';
        FUZZ_CHECK_DETAIL(venseg_tracker_config_set_site(cfg, site));
    }
    venseg_tracker *t = NULL;
    venseg_status st = venseg_tracker_create(cfg, &t);
    FUZZ_CHECK_DETAIL(st);
    if (st) { /* refused (e.g. one spacing set, same labels): the defaults work */
        FUZZ_CHECK(t == NULL);
        FUZZ_CHECK(venseg_tracker_create(NULL, &t) == VENSEG_OK);
    }
    int32_t pushed = 0;
    const int steps = fuzz_range(&in, 1, 24);
    for (int step = 0; step < steps && in.pos < in.size; step++) {
        const int op = fuzz_range(&in, 0, 15);
        if (op == 0) {
            FUZZ_CHECK(venseg_tracker_reset(t) == VENSEG_OK);
            pushed = 0;
        } else if (op == 1) {
            check_results(t, pushed);
        } else if (op == 2) { /* a frame through the session (a small one: segmenting costs) */
            int w = fuzz_range(&in, 0, 48), h = fuzz_range(&in, 0, 48);
            int64_t stride = w + fuzz_range(&in, -1, 5);
            size_t bytes = w >= 1 && h >= 1 && stride >= w ? (size_t)((h - 1) * stride + w) : 0;
            uint8_t *px = mask_of(&in, w, h, stride > 0 ? stride : 1, bytes);
            uint8_t *out = fuzz_bool(&in) ? malloc(bytes ? bytes : 1) : NULL;
            st = venseg_tracker_push_frame(t, session(), px, VENSEG_PIXEL_GRAY8, w, h, stride, out, stride);
            FUZZ_CHECK_DETAIL(st);
            if (!st) pushed++;
            free(px);
            free(out);
        } else { /* a label mask */
            int w = fuzz_range(&in, -1, 80), h = fuzz_range(&in, -1, 80);
            if (fuzz_u8(&in) > 250) w = fuzz_bool(&in) ? 1 : 32769;
            int64_t stride = (int64_t)w + fuzz_range(&in, -2, 9);
            size_t bytes = w >= 1 && h >= 1 && w <= 32768 && stride >= w ? (size_t)((h - 1) * stride + w) : 0;
            uint8_t *lab = mask_of(&in, w, h, stride > 0 ? stride : 1, bytes);
            st = venseg_tracker_push_labels(t, fuzz_range(&in, 0, 31) ? lab : NULL, stride, w, h);
            FUZZ_CHECK_DETAIL(st);
            if (!st) pushed++;
            free(lab);
        }
    }
    check_results(t, pushed);
    /* the tracker's summary goes into an exam */
    venseg_exam *exam = NULL;
    FUZZ_CHECK(venseg_exam_create((venseg_exam_protocol)fuzz_range(&in, 0, 3), &exam) == VENSEG_OK || !exam);
    if (exam) {
        FUZZ_CHECK_DETAIL(venseg_exam_add(exam, t));
        venseg_exam_report rep;
        memset(&rep, 0, sizeof rep);
        rep.struct_size = sizeof rep;
        FUZZ_CHECK(venseg_exam_report_get(exam, &rep) == VENSEG_OK);
        for (int32_t i = 0; i < rep.site_count; i++) {
            venseg_exam_site site;
            memset(&site, 0, sizeof site);
            site.struct_size = sizeof site;
            FUZZ_CHECK(venseg_exam_site_at(exam, i, &site) == VENSEG_OK && memchr(site.site, 0, sizeof site.site));
        }
    }
    venseg_exam_free(exam);
    venseg_tracker_free(t);
    venseg_tracker_config_free(cfg);
    return 0;
}
