/*
 * Unit tests of the venseg program's dependency-free parts (examples/venseg/util): the LabelMe
 * polygon rasteriser (Pillow's rule; expected masks computed by hand) and the
 * --label-map parser. tests/python/test_evaluate.py compares the rasteriser with
 * Pillow itself on random polygons.
 */
#include <stdio.h>
#include <string.h>

#include "util/labelmap.h"
#include "util/labelme.h"

static int failures;

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                  \
        }                                                                \
    } while (0)

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

int main(void)
{
    polygons();
    label_maps();
    if (failures)
        fprintf(stderr, "cli_units_test: %d failure(s)\n", failures);
    else
        printf("cli_units_test: OK\n");
    return failures != 0;
}
