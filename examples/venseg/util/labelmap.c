/* labelmap.c: --label-map parsing (see labelmap.h). */
#include "util/labelmap.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const vs_code_names[VS_N_CODES] = {"background", "artery", "vein", "vessel", "ignore"};

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

static char *trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int parse_value(const char *s, long *out)
{
    char *end;
    long v;
    if (*s == '\0' || !(isdigit((unsigned char)*s)))
        return 0;
    v = strtol(s, &end, 10);
    if (*end != '\0')
        return 0;
    *out = v;
    return 1;
}

void vs_labelmap_free(vs_labelmap *map)
{
    for (int i = 0; i < map->n_names; i++)
        free(map->names[i]);
    map->n_names = 0;
}

int vs_labelmap_parse(const char *text, vs_labelmap *map, char *err, size_t err_size)
{
    char *copy, *item, *save = NULL;
    int assigned[256] = {0};

    memset(map, 0, sizeof *map);
    if (text == NULL || (copy = malloc(strlen(text) + 1)) == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    strcpy(copy, text);
    for (item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '='), *key, *tokens, *tok, *save2 = NULL;
        int code = -1;
        item = trim(item);
        if (*item == '\0')
            continue;
        if (eq == NULL) {
            snprintf(err, err_size, "label map item '%s' is not CLASS=VALUE[|VALUE...]", item);
            goto fail;
        }
        *eq = '\0';
        key = trim(item);
        tokens = trim(eq + 1);
        for (int c = 0; c < VS_N_CODES; c++)
            if (ieq(key, vs_code_names[c]))
                code = c;
        if (code < 0) {
            snprintf(err, err_size,
                     "unknown class '%s' in the label map (artery, vein, vessel, ignore, background)", key);
            goto fail;
        }
        if (*tokens == '\0') {
            snprintf(err, err_size, "class '%s' has no value in the label map", key);
            goto fail;
        }
        map->supervised[code] = code != VS_BG;
        for (tok = strtok_r(tokens, "|", &save2); tok != NULL; tok = strtok_r(NULL, "|", &save2)) {
            long v;
            tok = trim(tok);
            if (*tok == '\0')
                continue;
            if (parse_value(tok, &v)) {
                if (v > 255) {
                    snprintf(err, err_size, "label value %ld out of range 0..255", v);
                    goto fail;
                }
                if (assigned[v] && map->lut[v] != code) {
                    snprintf(err, err_size, "label value %ld is mapped to two classes", v);
                    goto fail;
                }
                assigned[v] = 1;
                map->lut[v] = (uint8_t)code;
            } else if (isdigit((unsigned char)*tok) || *tok == '-' || *tok == '+') {
                snprintf(err, err_size, "bad label value '%s' (0..255)", tok);
                goto fail;
            } else {
                int known = vs_labelmap_name_code(map, tok);
                if (known >= 0 && known != code) {
                    snprintf(err, err_size, "label '%s' is mapped to two classes", tok);
                    goto fail;
                }
                if (map->n_names == VS_MAX_NAMES) {
                    snprintf(err, err_size, "too many label names (at most %d)", VS_MAX_NAMES);
                    goto fail;
                }
                if ((map->names[map->n_names] = malloc(strlen(tok) + 1)) == NULL) {
                    snprintf(err, err_size, "out of memory");
                    goto fail;
                }
                strcpy(map->names[map->n_names], tok);
                map->name_code[map->n_names++] = (uint8_t)code;
            }
        }
    }
    free(copy);
    return 0;
fail:
    free(copy);
    vs_labelmap_free(map);
    return -1;
}

int vs_labelmap_name_code(const vs_labelmap *map, const char *label)
{
    long v;
    for (int i = 0; i < map->n_names; i++)
        if (strcmp(map->names[i], label) == 0)
            return map->name_code[i];
    for (int c = 0; c < VS_N_CODES; c++)
        if (ieq(label, vs_code_names[c]))
            return c;
    if (parse_value(label, &v) && v <= 255 && (map->lut[v] != VS_BG || v == 0))
        return map->lut[v];
    return -1;
}
