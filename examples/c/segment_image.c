/*
 * segment_image: segment the vessels in one B-mode PNG with libvenseg.
 *
 *   segment_image model.vseg image.png [overlay.png]
 *
 * Prints the area of each class and every instance (connected vessel region);
 * with a third argument, also writes the image with the classes tinted
 * (class 1 red, class 2 blue, ...). Build:
 *   cc segment_image.c $(pkg-config --cflags --libs venseg libpng)
 */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <venseg/venseg.h>

enum { MAX_SHOWN = 5 }; /* instances printed per class */

static int check(venseg_status status, const char *what)
{
    if (status != VENSEG_OK)
        fprintf(stderr, "%s: %s: %s\n", what, venseg_status_name(status), venseg_last_error());
    return status == VENSEG_OK;
}

static int write_overlay(const char *path, const unsigned char *gray, const uint8_t *mask,
                         int32_t width, int32_t height)
{
    static const unsigned char tint[4][3] = {{255, 0, 0}, {0, 96, 255}, {0, 200, 0}, {255, 200, 0}};
    size_t n = (size_t)width * (size_t)height;
    unsigned char *rgb = malloc(3 * n);
    png_image out;
    int ok;

    if (rgb == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < 3; c++) {
            rgb[3 * i + c] = mask[i] == 0 ? gray[i]
                                          : (unsigned char)((gray[i] + tint[(mask[i] - 1) % 4][c]) / 2);
        }
    }
    memset(&out, 0, sizeof out);
    out.version = PNG_IMAGE_VERSION;
    out.width = (png_uint_32)width;
    out.height = (png_uint_32)height;
    out.format = PNG_FORMAT_RGB;
    ok = png_image_write_to_file(&out, path, 0, rgb, 0, NULL);
    if (!ok)
        fprintf(stderr, "%s: %s\n", path, out.message);
    free(rgb);
    return ok;
}

int main(int argc, char **argv)
{
    png_image png;
    unsigned char *pixels = NULL;
    uint8_t *mask = NULL;
    venseg_model *model = NULL;
    venseg_session *session = NULL;
    int32_t width, height, n_classes = 0, n_instances = 0;
    int64_t trained = 1;
    int rc = 1;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s model.vseg image.png [overlay.png]\n", argv[0]);
        return 2;
    }

    /* Read the PNG as 8-bit grey (libpng's simplified API converts any PNG). */
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&png, argv[2])) {
        fprintf(stderr, "%s: %s\n", argv[2], png.message);
        return 1;
    }
    png.format = PNG_FORMAT_GRAY;
    width = (int32_t)png.width;
    height = (int32_t)png.height;
    pixels = malloc(PNG_IMAGE_SIZE(png));
    mask = malloc((size_t)width * (size_t)height);
    if (pixels == NULL || mask == NULL || !png_image_finish_read(&png, NULL, pixels, 0, NULL)) {
        fprintf(stderr, "%s: %s\n", argv[2], pixels && mask ? png.message : "out of memory");
        png_image_free(&png);
        goto done;
    }

    /* Load the model, make a session with the default options, segment the frame. */
    if (!check(venseg_model_load_file(argv[1], &model), argv[1]) ||
        !check(venseg_session_create(model, NULL, &session), "venseg_session_create") ||
        !check(venseg_segment(session, pixels, VENSEG_PIXEL_GRAY8, width, height, width, mask,
                              width, NULL, 0),
               "venseg_segment") ||
        !check(venseg_model_class_count(model, &n_classes), "venseg_model_num_classes") ||
        !check(venseg_session_instance_count(session, &n_instances), "venseg_session_instance_count"))
        goto done;

    printf("%s: %dx%d px, %s\n", argv[2], (int)width, (int)height, venseg_session_describe(session));
    if (venseg_model_meta_int(model, "provenance.trained", &trained) == VENSEG_OK && !trained)
        printf("warning: %s is an untrained model: its masks are meaningless\n", argv[1]);

    for (int32_t c = 0; c < n_classes; c++) {
        const char *name = "?";
        long long area = 0;
        venseg_model_class_name_at(model, c, &name);
        for (size_t i = 0; i < (size_t)width * (size_t)height; i++)
            area += mask[i] == c + 1;
        printf("class %d %-8s %7lld px\n", (int)(c + 1), name, area);
    }
    /* Instances come ordered by label, then by decreasing area: show the largest few. */
    for (int32_t i = 0, shown = 0, label = -1; i < n_instances; i++) {
        venseg_instance inst;
        memset(&inst, 0, sizeof inst);
        inst.struct_size = sizeof inst;
        if (!check(venseg_session_instance_at(session, i, &inst), "venseg_session_instance"))
            goto done;
        if (inst.label != label) {
            label = inst.label;
            shown = 0;
        }
        if (shown++ == MAX_SHOWN) {
            printf("  ... (smaller label %d instances not shown)\n", (int)label);
        }
        if (shown > MAX_SHOWN)
            continue;
        printf("instance %d: label %d, %lld px, centroid (%.1f, %.1f), bbox %dx%d at (%d, %d), "
               "diameter %.1f px, mean p %.2f\n",
               (int)i, (int)inst.label, (long long)inst.area_px, inst.centroid_x, inst.centroid_y,
               (int)inst.bbox_width, (int)inst.bbox_height, (int)inst.bbox_x, (int)inst.bbox_y,
               inst.equivalent_diameter_px, inst.mean_probability);
    }
    printf("%d instances\n", (int)n_instances);
    rc = 0;
    if (argc == 4) {
        if (write_overlay(argv[3], pixels, mask, width, height))
            printf("overlay: %s\n", argv[3]);
        else
            rc = 1;
    }

done:
    venseg_session_free(session);
    venseg_model_free(model);
    free(mask);
    free(pixels);
    return rc;
}
