/*
 * Compiled as strict ISO C99 (-std=c99 -pedantic -Werror -Wall -Wextra), once as is
 * and once with VENSEG_EXPERIMENTAL: the public headers must stay valid C99, and the
 * library this links against must be the version the header describes.
 */
#include <venseg/venseg.h>

#include <stdio.h>
#include <string.h>

#if !defined(VENSEG_VERSION_NUMBER) || !defined(VENSEG_ABI_VERSION)
#error "venseg.h must define VENSEG_VERSION_NUMBER and VENSEG_ABI_VERSION"
#endif

#if defined(VENSEG_EXPERIMENTAL) && !defined(VENSEG_VENSEG_EXPERIMENTAL_H)
#error "VENSEG_EXPERIMENTAL must pull in venseg_experimental.h"
#endif

int main(void)
{
    int failures = 0;
    /* Taking the address needs the symbol exported by the library. */
    venseg_status (*load)(const char *, venseg_model **) = venseg_model_load_file;
    unsigned linked = venseg_version_number();
#if defined(VENSEG_EXPERIMENTAL)
    venseg_status (*multiple)(const venseg_model *, int32_t *) = venseg_model_input_multiple;
    if (multiple == NULL) {
        failures++;
    }
#endif
    if (load == NULL) {
        failures++;
    }
    if (linked != VENSEG_VERSION_NUMBER) {
        fprintf(stderr, "venseg_version_number() = %u, header says %d\n", linked,
                VENSEG_VERSION_NUMBER);
        failures++;
    }
    if (venseg_version_string() == NULL ||
        strcmp(venseg_version_string(), VENSEG_VERSION_STRING) != 0) {
        fprintf(stderr, "venseg_version_string() does not match \"%s\"\n", VENSEG_VERSION_STRING);
        failures++;
    }
    if (venseg_status_name(VENSEG_OK) == NULL ||
        strcmp(venseg_status_name(VENSEG_OK), "VENSEG_OK") != 0) {
        fprintf(stderr, "venseg_status_name(VENSEG_OK) is not \"VENSEG_OK\"\n");
        failures++;
    }
    printf("libvenseg %s (ABI %d): %s\n", VENSEG_VERSION_STRING, VENSEG_ABI_VERSION,
           failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
