#include <criterion/criterion.h>
Test(log, stub) { cr_assert(1); }
