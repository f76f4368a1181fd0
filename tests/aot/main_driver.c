/*===- tests/aot/main_driver.c - A generic host for an AOT object's `main` ---===*
 *
 * Compiled by tests/aot/compare.sh with -DPTL_AOT_HEADER='"x.h"' and
 * -DPTL_AOT_NAME=x: creates a context, runs NAME_main (the script's top
 * level; its `print`s go to stdout), reports a fault as
 * `FILE:LINE:COL: error: MESSAGE` on stderr and exits 1, else 0. Plain C99
 * (also compiled as C++), so it checks that the generated header is both.
 *
 *===----------------------------------------------------------------------===*/
#include PTL_AOT_HEADER

#include <stdio.h>

#define PTL_CAT2(a, b) a##b
#define PTL_CAT(a, b) PTL_CAT2(a, b)
#define FN(suffix) PTL_CAT(PTL_AOT_NAME, suffix)

int main(void) {
  FN(_ctx) *ctx = FN(_create)();
  int rc;
  if (!ctx) {
    fprintf(stderr, "main_driver: cannot create a context\n");
    return 2;
  }
  rc = FN(_main)(ctx);
  if (rc != 0)
    fprintf(stderr, "%s:%d:%d: error: %s\n", FN(_error_file)(ctx), (int)FN(_error_line)(ctx),
            (int)FN(_error_col)(ctx), FN(_error_message)(ctx));
  FN(_destroy)(ctx);
  return rc != 0 ? 1 : 0;
}
