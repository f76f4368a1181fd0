/*===- examples/aot/host.c - A C program calling a PTL model compiled AOT ----===*
 *
 * Build (examples/aot/CMakeLists.txt does this):
 *   ptlc build line.ptl -o line.o            # line.o + line.h
 *   cc -std=c99 -c host.c && c++ host.o line.o libptl_aotrt.a libptl_runtime.a -lm
 *
 * Runs the script's top level (which trains the model and prints it), then
 * calls `predict` and `loss` with host data and checks them against values
 * worked out by hand. No LLVM and no PTL compiler are involved at run time.
 *
 *===----------------------------------------------------------------------===*/
#include "line.h"

#include <stdio.h>

static int check(const char *what, float got, float want) {
  printf("host: %s = %.9g (expected %.9g)\n", what, got, want);
  return got == want ? 0 : 1;
}

int main(void) {
  /* The model's leaves, in path order (see line.h): w then b. */
  const float w[LINE_PREDICT_ARG0_NUMEL] = {0.5f, -1.0f, 2.0f};
  const float b = 0.25f;
  const float x[LINE_PREDICT_ARG2_NUMEL] = {1, 2, 3, 0, 0, 0, -1, 0.5f, 2, 4, -2, 0};
  const float y[LINE_LOSS_ARG3_NUMEL] = {4.75f, 0.25f, 3.25f, 5.25f};
  /* x @ w + b, row by row: 0.5-2+6+0.25, 0.25, -0.5-0.5+4+0.25, 2+2+0.25 */
  const float expected[4] = {4.75f, 0.25f, 3.25f, 4.25f};
  float pred[LINE_PREDICT_RES0_NUMEL], l = -1;
  int bad = 0, i;
  line_ctx *ctx = line_create();
  if (!ctx) {
    fprintf(stderr, "host: cannot create a context\n");
    return 2;
  }
  if (line_main(ctx) != 0) { /* the script's top level */
    fprintf(stderr, "%s:%d:%d: error: %s\n", line_error_file(ctx), (int)line_error_line(ctx),
            (int)line_error_col(ctx), line_error_message(ctx));
    line_destroy(ctx);
    return 1;
  }
  if (line_predict(ctx, w, &b, x, pred) != 0 || line_loss(ctx, w, &b, x, y, &l) != 0) {
    fprintf(stderr, "host: %s\n", line_error_message(ctx));
    line_destroy(ctx);
    return 1;
  }
  for (i = 0; i < 4; ++i) {
    char what[32];
    snprintf(what, sizeof what, "predict[%d]", i);
    bad |= check(what, pred[i], expected[i]);
  }
  bad |= check("loss", l, 0.25f); /* mean of (0, 0, 0, -1)^2 */
  line_destroy(ctx);
  return bad;
}
