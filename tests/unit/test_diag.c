#include <criterion/criterion.h>
#include <stdlib.h>

#include "diag.h"

Test(diag, formats_file_line_col_and_keeps_order)
{
    struct vigil_diags d;
    vigil_diags_init(&d);
    vigil_diags_add(&d, "a.yaml", 3, 7, "unknown key '%s'", "x");
    vigil_diags_add(&d, "b.yaml", 0, 0, "cannot open");
    vigil_diags_add(&d, NULL, 0, 0, "plain");
    char buf[256];
    cr_assert_eq(d.n, 3);
    vigil_diag_format(&d.v[0], buf, sizeof(buf));
    cr_assert_str_eq(buf, "a.yaml:3:7: unknown key 'x'");
    vigil_diag_format(&d.v[1], buf, sizeof(buf));
    cr_assert_str_eq(buf, "b.yaml: cannot open");
    vigil_diag_format(&d.v[2], buf, sizeof(buf));
    cr_assert_str_eq(buf, "plain");
    vigil_diags_fini(&d);
    cr_assert_eq(d.n, 0);
}

Test(diag, move_appends_and_empties_source)
{
    struct vigil_diags a = {0}, b = {0};
    vigil_diags_add(&a, "a", 1, 1, "one");
    vigil_diags_add(&b, "b", 2, 2, "two");
    vigil_diags_add(&b, "b", 3, 3, "three");
    vigil_diags_move(&a, &b);
    cr_assert_eq(a.n, 3);
    cr_assert_eq(b.n, 0);
    cr_assert_str_eq(a.v[2].msg, "three");
    vigil_diags_fini(&a);
    vigil_diags_fini(&b);
}
