#include <criterion/criterion.h>
Test(metrics, stub) { cr_assert(1); }
