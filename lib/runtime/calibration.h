/* int8 activation ranges: collected by calibration, or read from the model's metadata. */
#ifndef VENSEG_CALIBRATION_H
#define VENSEG_CALIBRATION_H

#include "core/model.h"

/* Nodes whose outputs are calibrated (convolutions and standalone BNs). */
int vs_calibrated_node(const vs_node *n);

/* Per graph value max |x| (NaN where the backend derives it) from a calibration, or
 * from the model's int8.* metadata when cal is NULL. *out is malloc'ed. */
venseg_status vs_value_ranges(const venseg_model *m, const venseg_calibration *cal, double **out);

#endif
