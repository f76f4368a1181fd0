/* aot_consumer: calls functions that the installed `ptlc build` compiled
 * ahead of time, checking them against values worked out by hand. Prints
 * "aot consumer OK" and exits 0 on success. */
#include "scale.h"

#include <math.h>
#include <stdio.h>

int main(void) {
  const float x[4] = {1, 2, 2, 4}; /* |x| = 5 */
  const float k = 3;
  float n = 0, g[4];
  int i;
  scale_ctx *ctx = scale_create();
  if (!ctx || scale_scaled_norm(ctx, x, &k, &n) != 0 || scale_grad_norm(ctx, x, g) != 0) {
    fprintf(stderr, "aot call failed: %s\n", ctx ? scale_error_message(ctx) : "no context");
    return 1;
  }
  if (n != 15.0f) {
    fprintf(stderr, "scaled_norm = %g, want 15\n", n);
    return 1;
  }
  for (i = 0; i < 4; ++i)
    if (fabsf(g[i] - x[i] / 5.0f) > 1e-7f) {
      fprintf(stderr, "grad_norm[%d] = %g, want %g\n", i, g[i], x[i] / 5.0f);
      return 1;
    }
  scale_destroy(ctx);
  printf("aot consumer OK\n");
  return 0;
}
