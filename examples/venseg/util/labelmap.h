/*
 * labelmap.h: which label values (PNG) and shape names (LabelMe) mean which class.
 *
 *   --label-map "artery=1,vein=2,vessel=3,ignore=4"     usgra-seg
 *   --label-map "artery=255"                            cca-momot (artery only)
 *   --label-map "artery=1|A|arteria,vein=2|V,ignore=4|5|nerve"
 *
 * Each class takes tokens separated by '|': integers 0..255 are label values in PNGs,
 * other tokens are LabelMe shape labels. A LabelMe shape label also matches a class
 * by its name (artery, vein, vessel, ignore; any case) or by an integer value of the
 * map. Values not in the map are background. A class that is not in the map is not
 * supervised by the dataset and is not scored.
 */
#ifndef VENSEG_CLI_LABELMAP_H
#define VENSEG_CLI_LABELMAP_H

#include <stddef.h>
#include <stdint.h>

/* Canonical truth codes after mapping. */
enum {
    VS_BG = 0,
    VS_ARTERY = 1,
    VS_VEIN = 2,
    VS_VESSEL = 3, /* vessel of unknown class */
    VS_IGNORE = 4,
    VS_N_CODES = 5
};

enum { VS_MAX_NAMES = 64 };

typedef struct vs_labelmap {
    uint8_t lut[256];          /* label value -> code */
    int supervised[VS_N_CODES]; /* class present in the map */
    int n_names;
    char *names[VS_MAX_NAMES]; /* LabelMe shape labels ... */
    uint8_t name_code[VS_MAX_NAMES]; /* ... and their codes */
} vs_labelmap;

extern const char *const vs_code_names[VS_N_CODES]; /* "background", "artery", ... */

/* Parses text into map (which it initialises). Returns 0, or -1 with a message in err. */
int vs_labelmap_parse(const char *text, vs_labelmap *map, char *err, size_t err_size);
void vs_labelmap_free(vs_labelmap *map);
/* The code of a LabelMe shape label, or -1 when unknown. */
int vs_labelmap_name_code(const vs_labelmap *map, const char *label);

#endif
