/*
 * Unit tests of the venseg program's shared code (examples/venseg/util): the LabelMe
 * polygon rasteriser (Pillow's rule; expected masks computed by hand), the --label-map
 * parser, the options every command shares, the list, folder and file helpers, and the words
 * the reports give a verdict's identity evidence (medial side, flags as reasons, vessel
 * lines). tests/python/test_evaluate.py compares the rasteriser with Pillow itself on random
 * polygons.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/labelmap.h"
#include "util/cli_util.h"
#include "util/labelme.h"
#include "util/options.h"
#include "util/image_io.h"
#include "util/png_io.h"
#include "report/analysis.h"
#include "report/html_report.h"

static int failures;

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                  \
        }                                                                \
    } while (0)

/* Writes n small files with these names into dir. */
static void touch_files(const char *dir, const char *const *names, size_t n)
{
    char path[512];
    for (size_t k = 0; k < n; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        if (f) fputs("abc", f), fclose(f);
    }
}

/* mask (w x h) equals the picture: rows of '#' (1) and '.' (0). */
static int equals(const unsigned char *mask, int w, int h, const char *const *rows)
{
    int ok = 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if ((mask[y * w + x] != 0) != (rows[y][x] == '#'))
                ok = 0;
    if (!ok)
        for (int y = 0; y < h; y++) {
            fprintf(stderr, "   ");
            for (int x = 0; x < w; x++)
                fputc(mask[y * w + x] ? '#' : '.', stderr);
            fprintf(stderr, "   %s\n", rows[y]);
        }
    return ok;
}

static void polygons(void)
{
    unsigned char m[8 * 8];
    {   /* an integer square: both ends inclusive */
        const double xy[] = {1, 1, 4, 1, 4, 3, 1, 3};
        const char *want[] = {"......", ".####.", ".####.", ".####.", "......"};
        memset(m, 0, sizeof m);
        CHECK(vs_fill_polygon(m, 6, 5, 6, xy, 4, 1) == 0);
        CHECK(equals(m, 6, 5, want));
    }
    {   /* fractional vertices are truncated: the same square */
        const double xy[] = {1.9, 1.9, 4.9, 1.9, 4.9, 3.9, 1.9, 3.9};
        const char *want[] = {"......", ".####.", ".####.", ".####.", "......"};
        memset(m, 0, sizeof m);
        CHECK(vs_fill_polygon(m, 6, 5, 6, xy, 4, 1) == 0);
        CHECK(equals(m, 6, 5, want));
    }
    {   /* a right triangle: rows 5, 4, 3, 2, 1 px wide */
        const double xy[] = {0, 0, 4, 0, 0, 4};
        const char *want[] = {"#####.", "####..", "###...", "##....", "#.....", "......"};
        memset(m, 0, sizeof m);
        CHECK(vs_fill_polygon(m, 6, 6, 6, xy, 3, 1) == 0);
        CHECK(equals(m, 6, 6, want));
    }
    {   /* clipped at the image border; the value is written as given */
        const double xy[] = {-2, -2, 2, -2, 2, 2, -2, 2};
        const char *want[] = {"###.", "###.", "###.", "...."};
        memset(m, 0, sizeof m);
        CHECK(vs_fill_polygon(m, 4, 4, 4, xy, 4, 7) == 0);
        CHECK(equals(m, 4, 4, want));
        CHECK(m[0] == 7);
    }
    {   /* a diamond */
        const double xy[] = {3, 0, 6, 3, 3, 6, 0, 3};
        const char *want[] = {"...#...", "..###..", ".#####.", "#######", ".#####.", "..###..", "...#..."};
        memset(m, 0, sizeof m);
        CHECK(vs_fill_polygon(m, 7, 7, 7, xy, 4, 1) == 0);
        CHECK(equals(m, 7, 7, want));
    }
    {   /* a rectangle: corners truncated, both ends inclusive, any corner order */
        const char *want[] = {".....", ".###.", ".###.", "....."};
        memset(m, 0, sizeof m);
        vs_fill_rectangle(m, 5, 4, 5, 3.2, 2.8, 1.5, 1.5, 1);
        CHECK(equals(m, 5, 4, want));
    }
    {   /* row stride larger than the width */
        const double xy[] = {0, 0, 1, 0, 1, 1, 0, 1};
        memset(m, 9, sizeof m);
        memset(m, 0, 3), memset(m + 8, 0, 3);
        CHECK(vs_fill_polygon(m, 3, 2, 8, xy, 4, 1) == 0);
        CHECK(m[0] == 1 && m[1] == 1 && m[2] == 0 && m[8] == 1 && m[9] == 1 && m[10] == 0 && m[3] == 9);
    }
}

static void label_maps(void)
{
    vs_labelmap map;
    char err[256];
    CHECK(vs_labelmap_parse("artery=1, vein=2|V ,vessel=3,ignore=4|5|nerve", &map, err, sizeof err) == 0);
    CHECK(map.lut[0] == VS_BG && map.lut[1] == VS_ARTERY && map.lut[2] == VS_VEIN && map.lut[3] == VS_VESSEL);
    CHECK(map.lut[4] == VS_IGNORE && map.lut[5] == VS_IGNORE && map.lut[6] == VS_BG && map.lut[255] == VS_BG);
    CHECK(map.supervised[VS_ARTERY] && map.supervised[VS_VEIN] && map.supervised[VS_VESSEL]);
    CHECK(vs_labelmap_name_code(&map, "V") == VS_VEIN);
    CHECK(vs_labelmap_name_code(&map, "nerve") == VS_IGNORE);
    CHECK(vs_labelmap_name_code(&map, "Artery") == VS_ARTERY); /* class names, any case */
    CHECK(vs_labelmap_name_code(&map, "2") == VS_VEIN);        /* values */
    CHECK(vs_labelmap_name_code(&map, "tendon") == -1);
    vs_labelmap_free(&map);

    CHECK(vs_labelmap_parse("artery=255", &map, err, sizeof err) == 0);
    CHECK(map.lut[255] == VS_ARTERY && map.lut[1] == VS_BG);
    CHECK(map.supervised[VS_ARTERY] && !map.supervised[VS_VEIN] && !map.supervised[VS_VESSEL]);
    vs_labelmap_free(&map);

    CHECK(vs_labelmap_parse("artery=1,vein=1", &map, err, sizeof err) != 0);
    CHECK(strstr(err, "two classes") != NULL);
    CHECK(vs_labelmap_parse("nerve=4", &map, err, sizeof err) != 0);
    CHECK(vs_labelmap_parse("artery=256", &map, err, sizeof err) != 0);
    CHECK(vs_labelmap_parse("artery=-1", &map, err, sizeof err) != 0);
    CHECK(vs_labelmap_parse("artery", &map, err, sizeof err) != 0);
    CHECK(vs_labelmap_parse("artery=", &map, err, sizeof err) != 0);
    CHECK(vs_labelmap_parse("artery=A,vein=A", &map, err, sizeof err) != 0);
}

/* The shared options: both spellings of a value, the checks, and what is not theirs. */
static void shared_options(void)
{
    char *argv[] = {"segment", "--threads=4", "--roi", "1,2,30,40", "--model", "m.vseg", "--json", "x.json",
                    "--spacing", "0.1,0.2", "-q", "--threads", "x", "--modelx"};
    const int argc = (int)(sizeof argv / sizeof argv[0]);
    vs_common_opts o;
    int i = 1, status = -1;
    vs_common_opts_init(&o, "out");
    CHECK(o.progress == -1 && o.threads == 0 && !o.has_roi && strcmp(o.out_dir, "out") == 0);
    CHECK(vs_common_option("segment", "", VS_OPT_SEGMENTING, argc, argv, &i, &o, &status) == 1 && i == 1);
    CHECK(o.threads == 4);
    i = 2;
    CHECK(vs_common_option("segment", "", VS_OPT_SEGMENTING, argc, argv, &i, &o, &status) == 1 && i == 3);
    CHECK(o.has_roi && o.roi[0] == 1 && o.roi[1] == 2 && o.roi[2] == 30 && o.roi[3] == 40);
    i = 4;
    CHECK(vs_common_option("segment", "", VS_OPT_SEGMENTING, argc, argv, &i, &o, &status) == 1 && i == 5);
    CHECK(strcmp(o.model_path, "m.vseg") == 0);
    i = 6; /* --json is the command's own */
    CHECK(vs_common_option("segment", "", VS_OPT_SEGMENTING, argc, argv, &i, &o, &status) == 0 && i == 6);
    i = 8;
    CHECK(vs_common_option("segment", "", VS_OPT_SEGMENTING, argc, argv, &i, &o, &status) == 1);
    CHECK(o.spacing_x == 0.1 && o.spacing_y == 0.2);
    i = 10;
    CHECK(vs_common_option("segment", "", VS_OPT_SEGMENTING, argc, argv, &i, &o, &status) == 1 && o.quiet);
    i = 11; /* a bad value ends the command with a usage error (printed on stderr) */
    CHECK(vs_common_option("segment", "", VS_OPT_SEGMENTING, argc, argv, &i, &o, &status) == -1);
    CHECK(status == VS_EXIT_USAGE);
    i = 13; /* a longer name is not the option */
    CHECK(vs_common_option("segment", "", VS_OPT_SEGMENTING, argc, argv, &i, &o, &status) == 0);
    i = 10; /* an option the command does not take is not taken */
    CHECK(vs_common_option("labelme", "", 0, argc, argv, &i, &o, &status) == 0);
    CHECK(vs_is_option("--model=a", "--model") && !vs_is_option("-q=1", "-q") && !vs_is_option("--mode", "--model"));
    {
        const char *names[] = {"none", "partial", "full"};
        CHECK(vs_parse_choice("full", names, 3) == 2 && vs_parse_choice("Full", names, 3) == -1);
    }
}

/* The string list, the folder lister, the file reader and the label path. */
static void files_and_lists(void)
{
    vs_strlist l = {0};
    char err[256], path[512], dir[] = "/tmp/cli_units_test.XXXXXX";
    CHECK(vs_strlist_add(&l, "b") == 0 && vs_strlist_add(&l, "a") == 0 && vs_strlist_add(&l, "c") == 0);
    vs_strlist_sort(&l);
    CHECK(l.n == 3 && strcmp(l.v[0], "a") == 0 && vs_strlist_find(&l, "c") == 2 && vs_strlist_find(&l, "d") == -1);
    vs_strlist_free(&l);
    CHECK(l.n == 0 && l.v == NULL);

    CHECK(vs_label_path_beside("a/b.png", path, sizeof path) == 0 && strcmp(path, "a/b_label.png") == 0);
    CHECK(vs_label_path_beside("a/b.png", path, 8) == -1);

    if (mkdtemp(dir) == NULL) {
        CHECK(!"mkdtemp");
        return;
    }
    const char *files[] = {"f2.png", "f1.PNG", "f1_label.png", "notes.txt", ".hidden.png"};
    touch_files(dir, files, sizeof files / sizeof files[0]);
    snprintf(path, sizeof path, "%s/folder.png", dir); /* a folder is not a frame */
    CHECK(mkdir(path, 0700) == 0);
    vs_strlist frames = {0}, other = {0};
    CHECK(vs_list_frames(dir, &frames, err, sizeof err) == 0);
    CHECK(frames.n == 2 && strcmp(frames.v[0], "f1.PNG") == 0 && strcmp(frames.v[1], "f2.png") == 0);
    vs_strlist_free(&frames);
    static const char *const png[] = {".png"};
    CHECK(vs_list_dir(dir, png, 1, NULL, &frames, &other) == 0);
    CHECK(frames.n == 3 && other.n == 1 && strcmp(other.v[0], "notes.txt") == 0);
    vs_strlist_free(&frames), vs_strlist_free(&other);

    char *data = NULL;
    size_t size = 0;
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    CHECK(vs_read_file(path, 100, &data, &size, err, sizeof err) == 0 && size == 3 && strcmp(data, "abc") == 0);
    free(data);
    CHECK(vs_read_file(path, 2, &data, &size, err, sizeof err) == -1 && data == NULL);
    snprintf(path, sizeof path, "%s/missing", dir);
    CHECK(vs_read_file(path, 100, &data, &size, err, sizeof err) == -1 && strstr(err, "cannot open") != NULL);

    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/folder.png", dir);
    rmdir(path);
    rmdir(dir);
}

/* Folders of frames in natural order: slice_253 before slice_1115 (issue 17). */
static void natural_order(void)
{
    CHECK(vs_natural_cmp("slice_253.png", "slice_1115.png") < 0);
    CHECK(vs_natural_cmp("slice_1115.png", "slice_253.png") > 0);
    CHECK(vs_natural_cmp("f9", "f10") < 0 && vs_natural_cmp("f10", "f9") > 0);
    CHECK(vs_natural_cmp("a2b10", "a2b9") > 0 && vs_natural_cmp("a2b9", "a10b1") < 0);
    CHECK(vs_natural_cmp("frame-0009", "frame-0010") < 0); /* zero-padded: as before */
    CHECK(vs_natural_cmp("f007", "f8") < 0 && vs_natural_cmp("f010", "f9") > 0);
    CHECK(vs_natural_cmp("f01", "f1") != 0 && vs_natural_cmp("f01", "f1") == -vs_natural_cmp("f1", "f01"));
    CHECK(vs_natural_cmp("same", "same") == 0 && vs_natural_cmp("f1", "f1a") < 0 && vs_natural_cmp("", "a") < 0);
    CHECK(vs_natural_cmp("f1.png", "f1_label.png") < 0); /* '.' < '_' as strcmp */

    char dir[] = "/tmp/cli_units_natural.XXXXXX", path[512], err[256];
    if (mkdtemp(dir) == NULL) {
        CHECK(!"mkdtemp");
        return;
    }
    const char *files[] = {"slice_1115.png", "slice_253.png", "slice_9.png", "slice_1115_label.png", "slice_40.png"};
    const char *want[] = {"slice_9.png", "slice_40.png", "slice_253.png", "slice_1115.png"};
    touch_files(dir, files, sizeof files / sizeof files[0]);
    vs_strlist frames = {0};
    CHECK(vs_list_frames(dir, &frames, err, sizeof err) == 0 && frames.n == 4);
    for (size_t k = 0; k < 4 && k < frames.n; k++) {
        CHECK(strcmp(frames.v[k], want[k]) == 0);
        CHECK(vs_strlist_find(&frames, want[k]) == (int)k); /* the lookup agrees with the order */
    }
    CHECK(vs_strlist_find(&frames, "slice_1115_label.png") == -1 && vs_strlist_find(&frames, "slice_0253.png") == -1);
    vs_strlist_free(&frames);
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        unlink(path);
    }
    rmdir(dir);
}

/* --medial-side and --site values, flags as the reasons for no verdict, and vessel lines. */
static void identity_words(void)
{
    int side = 7;
    CHECK(vs_parse_medial_side("left", &side) && side == -1);
    CHECK(vs_parse_medial_side("right", &side) && side == 1);
    CHECK(vs_parse_medial_side("unknown", &side) && side == 0);
    side = 7;
    CHECK(!vs_parse_medial_side("Left", &side) && !vs_parse_medial_side("middle", &side) &&
          !vs_parse_medial_side("", &side) && !vs_parse_medial_side("-1", &side) && side == 7);
    CHECK(!strcmp(vs_medial_side_name(-1), "left") && !strcmp(vs_medial_side_name(1), "right") &&
          !strcmp(vs_medial_side_name(0), "unknown"));
    CHECK(!strcmp(vs_medial_source_name(1), "configured") && !strcmp(vs_medial_source_name(2), "detected") &&
          !strcmp(vs_medial_source_name(0), "unknown"));
    char site[80];
    memset(site, 'x', 63), site[63] = '\0';
    CHECK(vs_site_valid("popliteal") && vs_site_valid("common_femoral (phantom)") && vs_site_valid(site));
    site[63] = 'x', site[64] = '\0';
    CHECK(!vs_site_valid(site) && !vs_site_valid("tab\there"));

    /* every flag has its words; the reasons are the flags that are not informational */
    for (int b = 0; b < 17; b++) CHECK(strcmp(vs_flag_text(1u << b), "unknown flag") != 0);
    CHECK(!strcmp(vs_flag_short(VENSEG_FLAG_IDENTITY_UNCERTAIN), "IDENTITY_UNCERTAIN"));
    char why[256];
    CHECK(vs_indeterminate_reasons(VENSEG_FLAG_IDENTITY_UNCERTAIN | VENSEG_FLAG_LOW_CONFIDENCE |
                                       VENSEG_FLAG_SPACING_UNKNOWN | VENSEG_FLAG_VESSELS_MERGED,
                                   why, sizeof why) == 2);
    CHECK(!strcmp(why, "IDENTITY_UNCERTAIN, LOW_CONFIDENCE"));
    CHECK(vs_indeterminate_reasons(VENSEG_FLAG_NO_RELEASE | VENSEG_FLAG_VEIN_INTERMITTENT, why, sizeof why) == 0);
    CHECK(!strcmp(why, "no flag set"));
    CHECK(vs_indeterminate_reasons(VENSEG_FLAG_NO_VEIN, why, 4) == 1 && strlen(why) == 3); /* truncated, terminated */
    CHECK(vs_flag_informational(VENSEG_FLAG_VESSELS_MERGED) && !vs_flag_informational(VENSEG_FLAG_IDENTITY_CONFLICT));

    /* a vessel's line: its identity, track, identity confidence and evidence */
    venseg_vessel v;
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.track_id = 3, v.identity = VENSEG_IDENTITY_VEIN, v.role = 2, v.identity_confidence = 0.936;
    snprintf(v.evidence, sizeof v.evidence, "vein: medial to the artery, no pulsation, 94 %% compressed");
    char line[512];
    vs_vessel_line(&v, line, sizeof line);
    CHECK(!strcmp(line, "VEIN   track 3, identity 0.94: vein: medial to the artery, no pulsation, 94 % compressed"));
    CHECK(!strcmp(vs_identity_short(VENSEG_IDENTITY_ARTERY), "ARTERY") && !strcmp(vs_role_short(2), "VEIN_OF_INTEREST"));
    /* no evidence line: the measured cues, NaN ones left out */
    v.evidence[0] = '\0';
    v.identity = VENSEG_IDENTITY_ARTERY, v.identity_confidence = NAN;
    v.network_vein_fraction = 0.1, v.pulsatility_percent = 6.5, v.pulse_rate_bpm = NAN, v.roundness = 0.9;
    v.position_score = -1, v.compressibility_percent = NAN;
    vs_vessel_line(&v, line, sizeof line);
    CHECK(!strcmp(line, "ARTERY track 3, identity n/a: network vein share 0.10, pulsatility 6.5 %, roundness 0.90, "
                        "position -1.00"));
    v.network_vein_fraction = v.pulsatility_percent = v.roundness = v.position_score = NAN;
    vs_vessel_line(&v, line, sizeof line);
    CHECK(!strcmp(line, "ARTERY track 3, identity n/a: no evidence measured"));
    vs_vessel_line(&v, line, 10); /* a short buffer: cut, terminated */
    CHECK(strlen(line) == 9);
    memset(v.evidence, 'e', sizeof v.evidence); /* an unterminated evidence field is bounded */
    vs_vessel_line(&v, line, sizeof line);
    CHECK(strlen(line) == strlen("ARTERY track 3, identity n/a: ") + sizeof v.evidence);
    char c[16];
    vs_confidence_text(0.905, c, sizeof c);
    CHECK(!strcmp(c, "0.91") || !strcmp(c, "0.90"));
    vs_confidence_text(NAN, c, sizeof c);
    CHECK(!strcmp(c, "n/a"));
}

/* The image formats by their first bytes, frame folders of every image ending, labels beside. */
static void image_names(void)
{
    char err[256], path[512], dir[] = "/tmp/cli_units_images.XXXXXX";
    CHECK(vs_image_kind((const unsigned char *)"\x89PNG\r\n\x1a\n", 8) && !strcmp(vs_image_kind((const unsigned char *)"\x89PNG\r\n\x1a\n", 8), "PNG"));
    CHECK(!strcmp(vs_image_kind((const unsigned char *)"\xff\xd8\xff\xe0", 4), "JPEG"));
    CHECK(!strcmp(vs_image_kind((const unsigned char *)"BM\x36\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00", 14), "BMP"));
    CHECK(!strcmp(vs_image_kind((const unsigned char *)"II*\0", 4), "TIFF") && !strcmp(vs_image_kind((const unsigned char *)"MM\0*", 4), "TIFF"));
    CHECK(vs_image_kind((const unsigned char *)"GIF89a", 6) == NULL && vs_image_kind((const unsigned char *)"BM", 2) == NULL);
    CHECK(vs_image_kind_supported("PNG") && !vs_image_kind_supported(NULL));
    CHECK(vs_label_path_beside("a/b.jpg", path, sizeof path) == 0 && strcmp(path, "a/b_label.png") == 0);
    CHECK(vs_label_path_beside("a/b.TIFF", path, sizeof path) == 0 && strcmp(path, "a/b_label.png") == 0);
    CHECK(vs_label_path_beside("a/b.jpeg", path, sizeof path) == 0 && strcmp(path, "a/b_label.png") == 0);
    if (mkdtemp(dir) == NULL) {
        CHECK(!"mkdtemp");
        return;
    }
    const char *files[] = {"f1.png", "f2.JPG", "f3.jpeg", "f4.bmp", "f5.tif", "f6.TIFF", "f1_label.png", "f7.gif",
                           "f8.webp"};
    touch_files(dir, files, sizeof files / sizeof files[0]);
    vs_strlist frames = {0};
    CHECK(vs_list_frames(dir, &frames, err, sizeof err) == 0);
    CHECK(frames.n == 6 && !strcmp(frames.v[0], "f1.png") && !strcmp(frames.v[1], "f2.JPG") &&
          !strcmp(frames.v[5], "f6.TIFF"));
    vs_strlist_free(&frames);
    snprintf(path, sizeof path, "%s/f2.JPG", dir);
    vs_png img;
    CHECK(vs_image_read(path, &img, err, sizeof err) == -1 && strstr(err, "not a PNG, JPEG, BMP or TIFF image"));
    snprintf(path, sizeof path, "%s/missing.jpg", dir);
    CHECK(vs_image_read(path, &img, err, sizeof err) == -1 && strstr(err, "cannot open"));
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        remove(path);
    }
    rmdir(dir);
    /* an empty folder names the endings it looks for */
    CHECK(mkdtemp(strcpy(dir, "/tmp/cli_units_images.XXXXXX")) != NULL);
    CHECK(vs_list_frames(dir, &frames, err, sizeof err) == -1 && strstr(err, ".jpg") && strstr(err, ".tiff"));
    rmdir(dir);
}

/* The session as people read it: AUTO's fall-back to the CPU in a few words, in full with --verbose
 * (the texts are the library's, from a CUDA build on a machine without a GPU). */
static void session_words(void)
{
    char buf[1024];
    const char *no_gpu = "onednn 2.6.3: avx512_core_bf16, 1 thread, fp32; AUTO fell back to the CPU: CUDA backend: no "
                         "usable CUDA device (cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA "
                         "runtime version; cuda runtime 13.0, driver none, cudnn 9.19.0)";
    CHECK(!strcmp(vs_session_text(no_gpu, 0, buf, sizeof buf), "onednn 2.6.3: avx512_core_bf16, 1 thread, fp32; CPU (no GPU found)"));
    CHECK(!strcmp(vs_session_text(no_gpu, 1, buf, sizeof buf), no_gpu)); /* --verbose: the library's text */
    CHECK(!strcmp(vs_session_text("onednn: 2 threads, fp32 (not planned yet); AUTO fell back to the CPU: CUDA backend: no "
                                  "usable CUDA device (cudaErrorNoDevice: no CUDA-capable device is detected)",
                                  0, buf, sizeof buf),
                  "onednn: 2 threads, fp32 (not planned yet); CPU (no GPU found)"));
    CHECK(!strcmp(vs_session_text("reference: 1 thread, fp32; AUTO fell back to the CPU: CUDA backend: the module "
                                  "libvenseg_cuda.so.1 is not installed (looked next to libvenseg)",
                                  0, buf, sizeof buf),
                  "reference: 1 thread, fp32; CPU (no GPU backend installed)"));
    CHECK(!strcmp(vs_session_text("onednn: 1 thread, fp32; AUTO fell back to the CPU: CUDA backend: cannot load x: y",
                                  0, buf, sizeof buf),
                  "onednn: 1 thread, fp32; CPU (the GPU backend did not start; --verbose says why)"));
    /* nothing fell back (a CPU-only library, or a GPU): the text unchanged */
    CHECK(!strcmp(vs_session_text("cuda: H100, fp32, CUDA graph", 0, buf, sizeof buf), "cuda: H100, fp32, CUDA graph"));
    CHECK(!strcmp(vs_session_text("onednn: 2 threads, fp32", 0, buf, sizeof buf), "onednn: 2 threads, fp32"));
    CHECK(!strcmp(vs_session_text(NULL, 0, buf, sizeof buf), ""));
    char small[12];
    CHECK(strlen(vs_session_text(no_gpu, 0, small, sizeof small)) == sizeof small - 1);
}

int main(void)
{
    polygons();
    label_maps();
    shared_options();
    files_and_lists();
    natural_order();
    image_names();
    session_words();
    identity_words();
    if (failures)
        fprintf(stderr, "cli_units_test: %d failure(s)\n", failures);
    else
        printf("cli_units_test: OK\n");
    return failures != 0;
}
