/* segment_cmd.c: `venseg segment`: images -> label PNG, overlay PNG, JSON of per-class areas. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <venseg/venseg.h>

#include "commands.h"
#include "util/cli_util.h"
#include "util/options.h"
#include "util/dicom_io.h"
#include "util/image_io.h"
#include "util/png_io.h"
#include "report/viz.h"

#ifdef VENSEG_CLI_HAVE_CJSON
#include <cjson/cJSON.h>
#endif

static const char segment_help[] =
    "usage: venseg segment [options] IMAGE|FOLDER...\n"
    "\n"
    "Segments artery and vein in each image, PNG, JPEG, BMP, TIFF or DICOM (a FOLDER: its\n"
    ".png, .jpg, .jpeg, .bmp, .tif, .tiff and .dcm files, not *_label.png), and writes, per\n"
    "image <stem>, into --out (each frame of a multi-frame DICOM is an image <stem>-fNNNN,\n"
    "from 0; a DICOM file's pixel spacing and ultrasound region are used unless --spacing or\n"
    "--roi is given: docs/dicom.md):\n"
    "  <stem>-labels.png   8-bit label map: 0 background, 1 artery, 2 vein\n"
    "  <stem>-overlay.png  the image in grey, artery red, vein blue (filled, outlined)\n"
    "and one JSON (--json, default OUT/segment.json) with per image the size, the\n"
    "per-class areas (px; mm2 with --spacing) and every vessel instance; images that\n"
    "fail are listed under \"errors\" (status 1). A run that segments no image, or cannot\n"
    "write the JSON, leaves nothing behind (its PNGs and the folders it made are removed).\n"
    "\n"
    "  --model FILE      the .vseg model (default: $VENSEG_MODEL, weights/resunet34.vseg,\n"
    "                    or the installed copy)\n"
    "  --out DIR         output folder (default venseg-out; made if missing)\n"
    "  --json FILE       the JSON file (default OUT/segment.json)\n"
    "  --spacing MM[,MMY] pixel size in mm: areas in mm2 too\n"
    "  --roi X,Y,W,H     segment only this rectangle (e.g. the B-mode sector)\n"
    "  --threads N       compute threads (default 0: all)\n"
    "  --precision P     auto (default: int8 where the model has ranges and the CPU VNNI,\n"
    "                    else fp32), fp32, bf16, int8 or fp16: docs/precision.md; the\n"
    "                    JSON's \"precision\" says what ran\n"
    "  --progress        draw the progress bar even when stderr is not a terminal\n"
    "  -q, --quiet       print nothing but errors\n"
    "  --verbose         the JSON's \"session\" as the library describes it, in full (why AUTO\n"
    "                    did not take a GPU; otherwise \"CPU (no GPU found)\" and the like)\n"
    "  -h, --help        this help\n"
    "\n" VS_EXIT_HELP;

/* The images to segment: paths, and per path the DICOM frame it stands for (-1: not DICOM). */
typedef struct seg_inputs {
    vs_strlist paths;
    int32_t *frame;
    int32_t *frames; /* the DICOM file's frame count (0: not DICOM) */
} seg_inputs;

/* Adds a file; a multi-frame DICOM as one entry per frame. 0, or -1. */
static int add_file(seg_inputs *in, const char *path)
{
    int32_t n = 0;
#ifdef VENSEG_CLI_HAVE_DCMTK
    unsigned char head[132];
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    vs_dicom_info info;
    char e2[512];
    if (vs_dicom_looks(path, head, got)) n = vs_dicom_probe(path, &info, e2, sizeof e2) == 0 ? info.frames : 1;
#endif
    for (int32_t k = 0; k < (n > 0 ? n : 1); k++) {
        size_t at = in->paths.n;
        int32_t *fr = realloc(in->frame, (at + 1) * sizeof *fr), *fs = fr ? realloc(in->frames, (at + 1) * sizeof *fs) : NULL;
        if (fr) in->frame = fr;
        if (fs) in->frames = fs;
        if (!fr || !fs || vs_strlist_add(&in->paths, path) != 0) return -1;
        in->frame[at] = n > 0 ? k : -1, in->frames[at] = n;
    }
    return 0;
}

/* Adds the path, or a folder's images (natural order). 0, or -1 with a message. */
static int collect(const char *path, seg_inputs *list, char *err, size_t err_size)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) return add_file(list, path);
    vs_strlist names = {0};
    char joined[4096];
    int rc = vs_list_frames(path, &names, err, err_size);
    for (size_t i = 0; rc == 0 && i < names.n; i++) {
        snprintf(joined, sizeof joined, "%s/%s", path, names.v[i]);
        rc = add_file(list, joined);
    }
    vs_strlist_free(&names);
    return rc;
}

/* One image: a DICOM frame (with its header in *info) or any other image. 0, or -1. */
static int read_input(const seg_inputs *in, int k, vs_png *img, vs_dicom_info *info, char *err, size_t err_size)
{
    memset(info, 0, sizeof *info);
#ifdef VENSEG_CLI_HAVE_DCMTK
    if (in->frame[k] >= 0) return vs_dicom_read_frame(in->paths.v[k], in->frame[k], img, info, err, err_size);
#endif
    return vs_image_read(in->paths.v[k], img, err, err_size);
}

#ifdef VENSEG_CLI_HAVE_CJSON
/* One entry of the JSON's "errors": the image and what went wrong with it. */
static void add_error(cJSON *errors, const char *file, const char *error)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "file", file);
    cJSON_AddStringToObject(e, "error", error);
    cJSON_AddItemToArray(errors, e);
}
#endif

int vs_cmd_segment(int argc, char **argv)
{
    const char *json_path = NULL;
    vs_common_opts c;
    int status;
    seg_inputs src = {0};
    vs_strlist inputs = {0}; /* src.paths, once collected */
    char err[1024];

    vs_common_opts_init(&c, "venseg-out");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int shared = vs_common_option("segment", segment_help, VS_OPT_SEGMENTING, argc, argv, &i, &c, &status);
        if (shared < 0) return status;
        if (shared) continue;
        if (vs_is_option(a, "--json") && (json_path = vs_option_value(argc, argv, &i))) continue;
        if (a[0] == '-' && a[1]) return vs_usage_error("segment", "unknown or incomplete option ", a);
        if (collect(a, &src, err, sizeof err) != 0) {
            fprintf(stderr, "venseg segment: %s\n", err);
            vs_strlist_free(&src.paths), free(src.frame), free(src.frames);
            return VS_EXIT_INPUT;
        }
    }
    inputs = src.paths;
    int n = (int)inputs.n;
    if (n == 0) return vs_usage_error("segment", "no images given", NULL);
#ifndef VENSEG_CLI_HAVE_CJSON
    fprintf(stderr, "venseg segment: writes JSON with cJSON; this venseg was built without it\n");
    vs_strlist_free(&inputs), free(src.frame), free(src.frames);
    return VS_EXIT_UNAVAILABLE;
#else
    int rc = VS_EXIT_OK;
    const char *model_path = c.model_path, *out_dir = c.out_dir;
    int quiet = c.quiet, progress = c.progress;
    venseg_model *model = NULL;
    venseg_session *ses = NULL;
    cJSON *root = cJSON_CreateObject(), *images = cJSON_CreateArray(), *errors = cJSON_CreateArray();
    char json_buf[4096];
    /* what this run made; it stays only with a complete segment.json (kept), else it is removed */
    vs_strlist made = {0}, written = {0};
    int failed = 0, kept = 0;
    if ((rc = vs_load_model(model_path, &model, err, sizeof err)) != VS_EXIT_OK) {
        fprintf(stderr, "venseg segment: %s\n", err);
        goto done;
    }
    venseg_status st;
    if ((st = vs_open_session(model, c.threads, c.precision, &ses, err, sizeof err))) {
        fprintf(stderr, "venseg segment: session: %s\n", err);
        rc = VS_EXIT_ERROR;
        goto done;
    }
    if (vs_mkdirs_made(out_dir, &made, err, sizeof err) != 0) {
        fprintf(stderr, "venseg segment: %s\n", err);
        rc = VS_EXIT_ERROR;
        goto done;
    }
    if (!json_path) {
        snprintf(json_buf, sizeof json_buf, "%s/segment.json", out_dir);
        json_path = json_buf;
    }
    int32_t classes = 0;
    venseg_model_class_count(model, &classes);
    cJSON_AddStringToObject(root, "format", "venseg-segment-1");
    cJSON_AddStringToObject(root, "model", model_path ? model_path : vs_default_model(err, sizeof err));
    char session_text[1024];
    cJSON_AddStringToObject(root, "session",
                            vs_session_text(venseg_session_describe(ses), c.verbose, session_text, sizeof session_text));
    cJSON_AddStringToObject(root, "precision", vs_session_precision(ses)); /* what ran (auto resolved) */
    cJSON_AddStringToObject(root, "library", venseg_version_string());
    cJSON_AddItemToObject(root, "images", images);
    cJSON_AddItemToObject(root, "errors", errors); /* the images that failed: file and error */
    vs_progress bar;
    vs_progress_start(&bar, "segmenting", n, quiet ? 0 : progress);
    for (int k = 0; k < n; k++) {
        vs_png img;
        vs_dicom_info dinfo;
        char name[512], path[4096];
        if (read_input(&src, k, &img, &dinfo, err, sizeof err) != 0) {
            vs_progress_end(&bar);
            fprintf(stderr, "venseg segment: %s: %s\n", inputs.v[k], err);
            rc = strstr(err, "cannot open") || strstr(err, VS_DICOM_BAD) || strstr(err, VS_DICOM_UNSUPPORTED) ? VS_EXIT_INPUT
                 : strstr(err, "built without")                                                                 ? VS_EXIT_UNAVAILABLE
                                                                                                                : VS_EXIT_ERROR;
            add_error(errors, inputs.v[k], err);
            failed++;
            continue;
        }
        int32_t w = img.width, h = img.height;
        size_t px = (size_t)w * h;
        uint8_t *labels = malloc(px), *rgb = malloc(px * 3), *idx = malloc(px);
        if (!labels || !rgb || !idx) {
            free(labels), free(rgb), free(idx), vs_png_free(&img);
            rc = VS_EXIT_ERROR;
            break;
        }
        int64_t stride;
        venseg_pixel_format fmt = vs_png_pixel_format(&img, &stride);
        /* a DICOM image's own spacing and ultrasound region, unless --spacing / --roi says otherwise */
        double sx = c.spacing_x, sy = c.spacing_y;
        const int32_t *roi = c.roi;
        const char *sx_from = sx > 0 ? "option" : "", *roi_from = roi[2] > 0 ? "option" : "";
        if (!(sx > 0) && dinfo.spacing_x > 0) sx = dinfo.spacing_x, sy = dinfo.spacing_y, sx_from = dinfo.spacing_source;
        if (roi[2] <= 0 && dinfo.roi[2] > 0) roi = dinfo.roi, roi_from = dinfo.roi_source;
        venseg_session_set_pixel_spacing(ses, sx > 0 ? sx : 0, sx > 0 ? sy : 0);
        st = venseg_session_set_roi(ses, roi[0], roi[1], roi[2], roi[3]);
        if (!st) st = venseg_segment(ses, img.data, fmt, w, h, stride, labels, w, NULL, 0);
        if (st) {
            vs_progress_end(&bar);
            snprintf(err, sizeof err, "%s: %s", venseg_status_name(st), venseg_last_error());
            fprintf(stderr, "venseg segment: %s: %s\n", inputs.v[k], err);
            free(labels), free(rgb), free(idx), vs_png_free(&img);
            rc = VS_EXIT_ERROR;
            add_error(errors, inputs.v[k], err);
            failed++;
            continue;
        }
        vs_png_to_rgb(&img, rgb);
        vs_overlay_rgb(rgb, labels, w, h, idx, rgb);
        vs_stem(inputs.v[k], name, sizeof name);
        if (src.frames[k] > 1) { /* a multi-frame DICOM: <stem>-fNNNN */
            size_t at = strlen(name);
            snprintf(name + at, sizeof name - at, "-f%04d", src.frame[k]);
        }
        cJSON *it = cJSON_CreateObject(), *areas = cJSON_CreateObject(), *inst = cJSON_CreateArray();
        cJSON_AddStringToObject(it, "file", inputs.v[k]);
        if (src.frames[k] > 0) cJSON_AddNumberToObject(it, "frame", src.frame[k]);
        cJSON_AddNumberToObject(it, "width", w);
        cJSON_AddNumberToObject(it, "height", h);
        if (sx > 0) {
            cJSON_AddItemToObject(it, "pixel_spacing_mm", cJSON_CreateDoubleArray((double[]){sx, sy}, 2));
            cJSON_AddStringToObject(it, "pixel_spacing_source", sx_from);
        }
        if (roi[2] > 0) {
            cJSON_AddItemToObject(it, "roi", cJSON_CreateIntArray((const int[]){roi[0], roi[1], roi[2], roi[3]}, 4));
            cJSON_AddStringToObject(it, "roi_source", roi_from);
        }
        if (src.frames[k] > 0) {
            cJSON_AddStringToObject(it, "transfer_syntax", dinfo.transfer_syntax);
            cJSON_AddStringToObject(it, "photometric", dinfo.photometric);
        }
        snprintf(path, sizeof path, "%s/%s-labels.png", out_dir, name);
        int wrc = vs_strlist_add(&written, path) != 0 ? -1 : vs_png_write_gray(path, labels, w, h, w, err, sizeof err);
        cJSON_AddStringToObject(it, "labels", path);
        if (wrc == 0) {
            snprintf(path, sizeof path, "%s/%s-overlay.png", out_dir, name);
            wrc = vs_strlist_add(&written, path) != 0 ? -1 : vs_png_write_rgb(path, rgb, w, h, err, sizeof err);
        }
        cJSON_AddStringToObject(it, "overlay", path);
        if (wrc != 0) { /* an image without both outputs is a failed one */
            char what[sizeof path + sizeof err + 4];
            vs_progress_end(&bar);
            snprintf(what, sizeof what, "%s: %s", path, err);
            fprintf(stderr, "venseg segment: %s\n", what);
            rc = VS_EXIT_ERROR;
            add_error(errors, inputs.v[k], what);
            failed++;
            cJSON_Delete(it), cJSON_Delete(areas), cJSON_Delete(inst);
            free(labels), free(rgb), free(idx), vs_png_free(&img);
            continue;
        }
        for (int32_t c = 0; c < classes; c++) {
            const char *cname = "";
            venseg_model_class_name_at(model, c, &cname);
            int64_t count = 0;
            for (size_t i = 0; i < px; i++) count += labels[i] == c + 1;
            cJSON *a = cJSON_CreateObject();
            cJSON_AddNumberToObject(a, "px", (double)count);
            if (sx > 0) cJSON_AddNumberToObject(a, "mm2", (double)count * sx * sy);
            cJSON_AddItemToObject(areas, cname, a);
        }
        int32_t ni = 0;
        venseg_session_instance_count(ses, &ni);
        for (int32_t i = 0; i < ni; i++) {
            venseg_instance in = {.struct_size = sizeof in};
            if (venseg_session_instance_at(ses, i, &in)) continue;
            const char *cname = "";
            venseg_model_class_name_at(model, in.label - 1, &cname);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "class", cname);
            cJSON_AddNumberToObject(o, "area_px", (double)in.area_px);
            if (sx > 0) cJSON_AddNumberToObject(o, "area_mm2", in.area_mm2);
            cJSON_AddItemToObject(o, "centroid", cJSON_CreateDoubleArray((double[]){in.centroid_x, in.centroid_y}, 2));
            cJSON_AddItemToObject(o, "bbox", cJSON_CreateIntArray((const int[]){in.bbox_x, in.bbox_y, in.bbox_width, in.bbox_height}, 4));
            cJSON_AddNumberToObject(o, "mean_probability", in.mean_probability);
            cJSON_AddItemToArray(inst, o);
        }
        cJSON_AddItemToObject(it, "areas", areas);
        cJSON_AddItemToObject(it, "instances", inst);
        cJSON_AddItemToArray(images, it);
        if (!quiet) {
            vs_progress_end(&bar);
            printf("%s: %dx%d", inputs.v[k], w, h);
            cJSON *a;
            cJSON_ArrayForEach(a, areas) printf(", %s %.0f px", a->string, cJSON_GetObjectItem(a, "px")->valuedouble);
            printf(" -> %s/%s-{labels,overlay}.png\n", out_dir, name);
            vs_progress_start(&bar, "segmenting", n, progress);
        }
        vs_progress_update(&bar, k + 1);
        free(labels), free(rgb), free(idx), vs_png_free(&img);
    }
    vs_progress_end(&bar);
    if (n - failed == 0) { /* nothing segmented: no JSON, no outputs (the errors are on stderr) */
        if (rc == VS_EXIT_OK) rc = VS_EXIT_ERROR;
        fprintf(stderr, "venseg segment: no image segmented; nothing written\n");
        goto done;
    }
    char *text = cJSON_Print(root);
    FILE *f = text ? fopen(json_path, "w") : NULL;
    int json_ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0) json_ok = 0;
    if (!json_ok) {
        fprintf(stderr, "venseg segment: %s: cannot write; the label and overlay PNGs are removed\n", json_path);
        if (f) remove(json_path);
        rc = VS_EXIT_ERROR;
    } else {
        kept = 1;
        if (!quiet) {
            printf("%d of %d images segmented; areas in %s", n - failed, n, json_path);
            printf(failed ? " (the %d failed under \"errors\")\n" : "\n", failed);
        }
    }
    cJSON_free(text);
done:
    /* a run that leaves no complete segment.json leaves nothing: its PNGs, the folders it made */
    if (!kept) vs_undo_outputs((const char *const *)written.v, (int)written.n, &made);
    vs_strlist_free(&made), vs_strlist_free(&written);
    cJSON_Delete(root);
    venseg_session_free(ses);
    venseg_model_free(model);
    vs_strlist_free(&inputs), free(src.frame), free(src.frames);
    return rc;
#endif
}
